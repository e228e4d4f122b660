"""Turning the live board's latest rig entries into one history row per rig per interval.

Each dashboard process samples only the rigs whose agents it holds (an agent is connected to one process at a
time), once a second, and writes a row when an interval closes; the unique (rig, t) index makes a row written
twice (a rig moving between processes mid-interval) harmless. Sampling the board once a second sees every
second status at the default 2 Hz and one in five at 5 Hz: the minimum and maximum are those of the samples.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from .models import RigSample

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 1.0


@dataclass
class _Stat:
    """Mean, minimum and maximum of the samples of one figure."""

    total: float = 0.0
    count: int = 0
    low: float | None = None
    high: float | None = None

    def add(self, value: float | None) -> None:
        if value is None:
            return
        self.total += value
        self.count += 1
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass
class _Interval:
    rig_id: int
    t: int
    state: str = ""
    fps: _Stat = field(default_factory=_Stat)
    mb_s: _Stat = field(default_factory=_Stat)
    queue: _Stat = field(default_factory=_Stat)
    disk_free: _Stat = field(default_factory=_Stat)
    copy_rate: _Stat = field(default_factory=_Stat)
    drops: int = 0
    disk_total: int | None = None
    copy_bytes: int | None = None

    def row(self) -> RigSample:
        return RigSample(
            rig_id=self.rig_id, t=self.t, state=self.state[:16], fps=_round(self.fps.mean), fps_min=_round(self.fps.low),
            mb_s=_round(self.mb_s.mean), mb_s_max=_round(self.mb_s.high), queue_max=_round(self.queue.high, 3),
            drops=self.drops, disk_free=None if self.disk_free.low is None else int(self.disk_free.low),
            disk_total=self.disk_total, copy_rate=_round(self.copy_rate.mean), copy_bytes=self.copy_bytes,
        )


class Sampler:
    """Folds samples of rig entries (labweb.live.board's) into intervals; closed intervals come out as rows."""

    def __init__(self, bucket_seconds: int) -> None:
        self.bucket = max(1, int(bucket_seconds))
        self.open: dict[str, _Interval] = {}
        self._drops: dict[str, tuple[str, int]] = {}  # rig -> (series file, frames dropped so far) at the last sample

    def sample(self, entries: Mapping[str, Mapping[str, Any]], rig_ids: Mapping[str, int], now: float) -> list[RigSample]:
        """Add one sample of each rig in `rig_ids` (name -> id); returns the rows of the intervals that closed."""
        t = int(now // self.bucket) * self.bucket
        rows = [self.open.pop(name).row() for name in list(self.open) if self.open[name].t != t]
        for name, rig_id in rig_ids.items():
            entry = entries.get(name)
            if entry is None:
                continue
            interval = self.open.get(name)
            if interval is None:
                interval = self.open[name] = _Interval(rig_id=rig_id, t=t)
            self._add(interval, name, entry)
        return rows

    def flush(self) -> list[RigSample]:
        """Every open interval as it stands (when the process stops)."""
        rows = [interval.row() for interval in self.open.values()]
        self.open.clear()
        return rows

    def _add(self, interval: _Interval, name: str, entry: Mapping[str, Any]) -> None:
        interval.state = str(entry.get("state") or "")
        spool = entry.get("spool")
        if isinstance(spool, Mapping):
            active = bool(spool.get("active"))
            interval.fps.add(_float(spool.get("fps")) if active else 0.0)
            interval.mb_s.add(_float(spool.get("mb_s_disk")) if active else 0.0)
            interval.queue.add(_float(spool.get("queue_fill")) if active else 0.0)
            interval.drops += self._new_drops(name, spool)
        disk = entry.get("disk")
        if isinstance(disk, Mapping):
            interval.disk_free.add(_float(disk.get("free")))
            interval.disk_total = _int(disk.get("total"))
        transfer = entry.get("transfer")
        if isinstance(transfer, Mapping):
            active = bool(transfer.get("active"))
            interval.copy_rate.add(_float(transfer.get("rate")) if active else 0.0)
            interval.copy_bytes = _int(transfer.get("bytes_done")) if active else None

    def _new_drops(self, name: str, spool: Mapping[str, Any]) -> int:
        file, dropped = str(spool.get("file") or ""), _int(spool.get("dropped")) or 0
        last_file, last = self._drops.get(name, ("", 0))
        self._drops[name] = (file, dropped)
        if not file:
            return 0
        # The count is per series: a new file (or a count that went down, a restarted agent) starts from zero.
        return dropped - last if file == last_file and dropped >= last else dropped


async def sampler_run(board) -> None:
    """Sample `board` (labweb.live.board.RigBoard) every second for as long as the process runs."""
    sampler = Sampler(settings.LABWEB_HISTORY_BUCKET_SECONDS)
    store = database_sync_to_async(samples_store)
    try:
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            try:
                rig_ids = {name: link.rig.pk for name, link in list(board.agents.items())}
                rows = sampler.sample(board.entries, rig_ids, time.time())
                if rows:
                    await store(rows)
            except asyncio.CancelledError:
                raise
            except Exception:  # history must never stop the relay; the next interval is tried as usual
                log.exception("could not store rig history")
    finally:
        rows = sampler.flush()
        if rows:
            try:
                await store(rows)
            except Exception:  # noqa: BLE001 - the process is stopping; at most one interval is lost
                log.warning("could not store the last history interval of %d rigs", len(rows))


def samples_store(rows: list[RigSample]) -> None:
    RigSample.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
