"""The spool controller the agent and the command line drive: start(settings), stop(), status(), preview().

Thread-safe. start() and stop(wait=True) block (file creation, preflight, joining threads): from asyncio call
them through `asyncio.to_thread`. status() and preview() only read counters and return at once, even while a
start is under way (the agent's heartbeat calls status() on its event loop a few times a second).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rigs.messages import SpoolStatus
from rigs.spool import metadata
from rigs.spool.codecs import get_codec
from rigs.spool.diskio import disk_free
from rigs.spool.h5layout import SeriesFile
from rigs.spool.hooks import HookOutcome, HookRunner, SeriesHook
from rigs.spool.naming import candidate_paths, name_keys, series_folder
from rigs.spool.pipeline import Series
from rigs.spool.preflight import PreflightError, PreflightReport, estimate
from rigs.spool.preview import downsample, png_bytes, to_uint8
from rigs.spool.result import SeriesResult
from rigs.spool.settings import SpoolSettings
from rigs.spool.source import FrameSource

log = logging.getLogger(__name__)

EventCallback = Callable[[str, dict[str, Any]], None]
MB = 1e6

# Lifecycle states reported by status().state.
IDLE, STARTING, RUNNING, STOPPING, FINISHED, FAILED = "idle", "starting", "running", "stopping", "finished", "failed"


class SpoolBusy(RuntimeError):
    """start() while a series is still running."""


class SpoolController:
    """Runs one series at a time from `source` and reports on it.

    on_event(name, data) is called from spooler threads (keep it short; from asyncio, hand over with
    loop.call_soon_threadsafe). Names: spool.started, spool.stopped, spool.failed, spool.dropped,
    spool.refused, spool.warning, spool.hook.
    """

    def __init__(self, source: FrameSource, *, rig: str | None = None, on_event: EventCallback | None = None,
                 hooks: Iterable[SeriesHook] = (), free_space: Callable[[Path], int] = disk_free):
        self.source = source
        self.rig = rig
        self._on_event = on_event
        self._hooks: list[SeriesHook] = list(hooks)
        self._free_space = free_space
        self._lock = threading.RLock()
        self._series: Series | None = None
        self._settings: SpoolSettings | None = None
        self._state = IDLE
        self._last: SeriesResult | None = None
        self._ended = threading.Event()
        self._ended.set()
        self._hook_runner = HookRunner(self._hook_done)

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self, settings: SpoolSettings | Mapping[str, Any]) -> SpoolStatus:
        """Start a series; returns status(). Raises PreflightError (preflight=abort), SpoolBusy, ValueError."""
        settings = settings if isinstance(settings, SpoolSettings) else SpoolSettings.from_mapping(settings)
        with self._lock:
            if self._state in (STARTING, RUNNING, STOPPING):
                raise SpoolBusy(f"a series is already running: {self._series.path if self._series else ''}")
            before, self._state = self._state, STARTING
        try:
            series = self._prepare(settings)  # slow (preflight, file, buffers): outside the lock status() takes
        except BaseException:
            with self._lock:
                self._state = before
            raise
        with self._lock:
            self._series, self._settings, self._state = series, settings, RUNNING
            self._ended.clear()
            series.start()
        self._emit("spool.started", {"file": str(series.path), "compression": series.codec.name,
                                     "shape": list(self.source.shape), "dtype": str(np.dtype(self.source.dtype)),
                                     "fps": self.source.fps, "max_frames": settings.max_frames,
                                     "swmr": settings.swmr})
        return self.status()

    def _prepare(self, settings: SpoolSettings) -> Series:
        codec = get_codec(settings.compression)
        now = dt.datetime.now()
        keys = name_keys(now, {"rig": self.rig or "rig", "exp_ref": settings.exp_ref or ""})
        folder = series_folder(settings.directory, settings.subdirectory, keys)
        folder.mkdir(parents=True, exist_ok=True)
        self._preflight(settings, folder)
        self.source.open()
        try:
            return self._create_series(settings, codec, folder, keys, now.timestamp())
        except BaseException:
            self.source.close()
            raise

    def stop(self, *, wait: bool = True, timeout: float | None = 60.0) -> dict[str, Any] | None:
        """Ask the running series to stop; with wait, return its result dict once the file is complete."""
        with self._lock:
            series = self._series
            if series is None or series.ended:
                return self._last.to_dict() if (self._last and wait) else None
            self._state = STOPPING
            series.request_stop("requested")
        if not wait:
            return None
        return self.wait(timeout)

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the current series has ended (and its file is closed); its result dict or None."""
        if not self._ended.wait(timeout):
            return None
        with self._lock:
            return self._last.to_dict() if self._last else None

    def close(self) -> None:
        """Stop any series and wait for its hooks (for the end of a program)."""
        self.stop(wait=True)
        self._hook_runner.wait(timeout=60.0)

    def __enter__(self) -> SpoolController:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hooks -----------------------------------------------------------------------------------------
    def add_hook(self, hook: SeriesHook) -> None:
        with self._lock:
            self._hooks.append(hook)

    def wait_hooks(self, timeout: float | None = None) -> list[HookOutcome]:
        """Wait for running hooks; every outcome so far."""
        self._hook_runner.wait(timeout)
        return list(self._hook_runner.outcomes)

    # -- reading ---------------------------------------------------------------------------------------
    def queue_fill(self) -> float:
        """How full the camera-side buffer is (0.0 to 1.0; 0.0 when idle), cheap enough to poll per frame.

        status() has it too, but builds every counter: a source that paces itself (a replay that must not
        drop, a benchmark camera) polls this instead.
        """
        series = self._series
        return series.ring_fill() if series is not None and not series.ended else 0.0

    def status(self) -> SpoolStatus:
        """The series' counters, or the last series' (see rigs.messages.SpoolStatus)."""
        with self._lock:
            series, state, last, settings = self._series, self._state, self._last, self._settings
        if series is None:
            return SpoolStatus(state=state)
        rates = series.rates.rates()
        disk_rate = rates["bytes_out"]
        reserve = settings.reserve_mb * MB if settings else 0.0
        usable = series.disk_free - reserve
        result = last if (last is not None and last.path == series.path) else None
        return SpoolStatus(
            state=state,
            file=str(series.path),
            compression=series.codec.name,
            frames=series.written,
            frames_captured=series.captured,
            frames_flushed=series.flushed,
            dropped=series.dropped,
            max_frames=settings.max_frames if settings else None,
            fps=round(rates["written"], 2),
            fps_in=round(rates["captured"], 2),
            mb_s_in=round(rates["bytes_in"] / MB, 2),
            mb_s_disk=round(disk_rate / MB, 2),
            ratio=round(series.written * series.frame_bytes / series.bytes_out, 3) if series.bytes_out else None,
            queue_fill=round(series.ring_fill(), 4),
            queue_bytes=series.in_flight_bytes(),
            disk_free=int(series.disk_free),
            seconds_to_full=round(usable / disk_rate, 1) if (disk_rate > 0 and state == RUNNING) else None,
            elapsed_s=round((result.ended if result else time.time()) - series.start_time, 3),
            reason=result.reason if result else None,
            error=(result.error if result else series.error),
        )

    def preview(self, max_size: int = 256) -> np.ndarray | None:
        """The latest frame, downsampled to <= max_size px a side and contrast-stretched to uint8."""
        with self._lock:
            series = self._series
        frame = series.latest_preview() if series is not None else None
        return None if frame is None else to_uint8(downsample(frame, max_size))

    def check_camera(self, max_size: int = 256, timeout: float = 5.0) -> np.ndarray | None:
        """One frame from the camera while no series runs (to check focus and framing before recording): the
        source is opened, read once and closed. Blocks: call it through asyncio.to_thread. None when the camera
        gives no frame in time; SpoolBusy while a series runs (its previews show the camera then)."""
        with self._lock:
            if self._state in (STARTING, RUNNING, STOPPING):
                raise SpoolBusy("a series is running: its previews show the camera")
            self._state, before = STARTING, self._state  # holds off a start until the camera is closed again
        frame = np.empty(self.source.shape, np.dtype(self.source.dtype))
        try:
            self.source.open()
            try:
                stamp = self.source.read_into(frame, timeout)
            finally:
                self.source.close()
        finally:
            with self._lock:
                self._state = before
        return None if stamp is None else to_uint8(downsample(frame, max_size))

    def preview_png(self, max_size: int = 256) -> bytes | None:
        image = self.preview(max_size)
        return None if image is None else png_bytes(image)

    # -- internals -------------------------------------------------------------------------------------
    def _preflight(self, settings: SpoolSettings, folder: Path) -> PreflightReport | None:
        if settings.preflight == "skip":
            return None
        report = estimate(frame_bytes=self.source.frame_bytes, fps=self.source.fps, max_frames=settings.max_frames,
                          free_bytes=self._free_space(folder), reserve_bytes=int(settings.reserve_mb * MB),
                          expected_ratio=settings.expected_ratio, default_seconds=settings.preflight_seconds)
        if not report.ok:
            if settings.preflight == "abort":
                self._emit("spool.refused", {"reason": report.message, "preflight": report.to_dict()})
                raise PreflightError(report.message)
            self._emit("spool.warning", {"reason": report.message, "preflight": report.to_dict()})
        return report

    def _create_series(self, settings: SpoolSettings, codec, folder: Path, keys: dict, start: float) -> Series:
        entries = self._start_entries(settings, codec.name, start)
        for path in candidate_paths(folder, settings.series_pattern, keys):
            try:
                file = SeriesFile.create(path, tuple(self._stored_shape(settings)), np.dtype(self.source.dtype),
                                         codec, swmr=settings.swmr, entries=entries)
                break
            except FileExistsError:
                continue  # someone took the name between the check and the creation: try the next
        try:
            return Series(file=file, source=self.source, codec=codec, settings=settings,
                          free_space=self._free_space, on_event=self._emit, on_end=self._series_ended,
                          start_time=start)
        except BaseException:
            file.close()
            path.unlink(missing_ok=True)
            raise

    def _stored_shape(self, settings: SpoolSettings) -> tuple[int, int]:
        height, width = self.source.shape
        return (width, height) if settings.axis_order == "pyme" else (height, width)

    def _start_entries(self, settings: SpoolSettings, compression: str, start: float) -> dict[str, Any]:
        entries: dict[str, Any] = {}
        entries.update(metadata.software_entries())
        entries.update(self.source.metadata())
        entries.update({
            "StartTime": start,
            "AcquisitionType": "TimeSeries",
            "Rig.Name": self.rig or "",
            "Spool.Compression": compression,
            "Spool.AxisOrder": settings.axis_order,
            "Spool.SWMR": int(settings.swmr),
            "Spool.MaxFrames": settings.max_frames or 0,
            "Spool.FrameInfo": "/FrameInfo holds FrameNum and Time (epoch s) of every stored frame",
        })
        if settings.exp_ref:
            entries["ExpRef"] = settings.exp_ref
        entries.update(settings.metadata)
        return entries

    def _series_ended(self, result: SeriesResult) -> None:
        try:
            self.source.close()
        except Exception:
            log.exception("closing the frame source")
        with self._lock:
            self._last = result
            self._state = FINISHED if result.outcome == "ok" else FAILED
            hooks = list(self._hooks)
        data = {**result.to_dict(), "rig": self.rig}
        self._emit("spool.stopped" if result.outcome == "ok" else "spool.failed", data)
        self._hook_runner.submit(hooks, result)
        self._ended.set()

    def _hook_done(self, outcome: HookOutcome) -> None:
        self._emit("spool.hook", outcome.to_dict())

    def _emit(self, name: str, data: dict[str, Any]) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(name, data)
        except Exception:
            log.exception("spool event callback failed for %s", name)
