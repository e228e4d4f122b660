"""Writes of spool runs: each spool.* event a rig sends becomes, or completes, the record of one series.

Events can come late, twice or not at all (an agent that lost its disk, a series started before the dashboard
knew the rig), so every write here merges into the record for (rig, file) rather than assuming an order:
a stopped event without a started one creates the record, a started event after the end never reopens it,
and drop counts only grow.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from labweb.fleet.models import Rig, RigEvent
from labweb.records.models import Session

from .choices import SpoolOutcome
from .models import SpoolRun

log = logging.getLogger(__name__)

ERROR_CHARS = 10_000


def spool_event_apply(rig: Rig, event: RigEvent) -> None:
    """The applier for every `spool.*` event (registered in SpoolingConfig.ready); other spool events are kept
    in the raw stream only (warning, hook)."""
    write = _WRITERS.get(event.name)
    if write is None:
        return
    data = event.data if isinstance(event.data, dict) else {}
    write(rig=rig, seq=event.seq, time=event.time, data=data)


def spool_run_start(*, rig: Rig, seq: int, time: dt.datetime, data: Mapping[str, Any]) -> SpoolRun | None:
    """A series began: record it as running, unless a later event already ended it."""
    run = _run_for(rig=rig, data=data, seq=seq)
    if run is None:
        return None
    run.compression = run.compression or str(data.get("compression") or "")
    run.started_at = run.started_at or time
    _link_session(run, data)
    _keep_latest(run, seq=seq, data=data)
    run.save()
    return run


def spool_run_finish(*, rig: Rig, seq: int, time: dt.datetime, data: Mapping[str, Any], failed: bool = False) -> SpoolRun | None:
    """A series closed (spool.stopped) or broke off (spool.failed): its final counters are the rig's result."""
    run = _run_for(rig=rig, data=data, seq=seq)
    if run is None:
        return None
    run.outcome = SpoolOutcome.FAILED if failed else SpoolOutcome.OK
    run.frames = _int(data.get("frames"), run.frames)
    run.dropped = max(run.dropped, _int(data.get("dropped"), 0))
    run.bytes_in = _int(data.get("bytes_in"), run.bytes_in)
    run.bytes_out = _int(data.get("bytes_out"), run.bytes_out)
    run.ratio = _ratio(data.get("ratio"), run.bytes_in, run.bytes_out)
    run.compression = str(data.get("compression") or run.compression)
    run.reason = str(data.get("reason") or "")[:32]
    run.error = str(data.get("error") or "")[:ERROR_CHARS]
    run.complete = bool(data.get("complete"))
    run.started_at = _epoch(data.get("started")) or run.started_at
    run.ended_at = _epoch(data.get("ended")) or time
    _link_session(run, data)
    _keep_latest(run, seq=seq, data=data)
    run.save()
    return run


def spool_run_drops(*, rig: Rig, seq: int, time: dt.datetime, data: Mapping[str, Any]) -> SpoolRun | None:
    """Frames were dropped while the series ran: the count only grows, whatever order the reports come in."""
    run = _run_for(rig=rig, data=data, seq=seq)
    if run is None:
        return None
    run.dropped = max(run.dropped, _int(data.get("dropped"), 0))
    if run.outcome == SpoolOutcome.RUNNING:
        run.frames = max(run.frames, _int(data.get("frames"), 0))
        run.started_at = run.started_at or time
    _keep_latest(run, seq=seq, data=data)
    run.save()
    return run


def spool_run_refuse(*, rig: Rig, seq: int, time: dt.datetime, data: Mapping[str, Any]) -> SpoolRun:
    """The preflight refused a series before any file was made: kept with its reason (one record per refusal)."""
    run, _ = SpoolRun.objects.get_or_create(
        rig=rig,
        file="",
        outcome=SpoolOutcome.REFUSED,
        started_at=time,
        defaults={
            "ended_at": time,
            "reason": "preflight",
            "error": str(data.get("reason") or "refused by the preflight")[:ERROR_CHARS],
            "last_seq": seq,
            "data": dict(data),
        },
    )
    if _link_session(run, data):
        run.save(update_fields=["session", "updated_at"])
    return run


_WRITERS = {
    "spool.started": spool_run_start,
    "spool.stopped": spool_run_finish,
    "spool.failed": partial(spool_run_finish, failed=True),
    "spool.dropped": spool_run_drops,
    "spool.refused": spool_run_refuse,
}


def _run_for(*, rig: Rig, data: Mapping[str, Any], seq: int) -> SpoolRun | None:
    file = str(data.get("file") or "")[:1000]
    if not file:
        log.warning("rig %s spool event #%d names no file; nothing to record", rig, seq)
        return None
    run, _ = SpoolRun.objects.select_for_update().get_or_create(rig=rig, file=file)
    return run


def _link_session(run: SpoolRun, data: Mapping[str, Any]) -> bool:
    """Attach the session the event names, when the dashboard knows it; True when the link changed."""
    exp_ref = data.get("exp_ref")
    if run.session_id is not None or not exp_ref:
        return False
    run.session = Session.objects.filter(exp_ref=str(exp_ref)).first()
    return run.session is not None


def _keep_latest(run: SpoolRun, *, seq: int, data: Mapping[str, Any]) -> None:
    if seq >= run.last_seq:
        run.last_seq = seq
        run.data = dict(data)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ratio(value: Any, bytes_in: int, bytes_out: int) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return round(bytes_in / bytes_out, 3) if bytes_out else None


def _epoch(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def spool_runs_orphaned(rig: Rig, event: RigEvent) -> None:
    """A rig's agent (re)started: no series of its old process can still be running, so close them as failed.

    The file itself holds every frame up to its last flush (at most 2 s old) and opens in any HDF5 reader.
    """
    SpoolRun.objects.filter(rig=rig, outcome=SpoolOutcome.RUNNING, started_at__lt=event.time).update(
        outcome=SpoolOutcome.FAILED,
        reason="agent_restart",
        error="The rig's agent stopped during this series (killed or crashed); the file holds the frames up to "
        "its last flush.",
        ended_at=event.time,
    )
