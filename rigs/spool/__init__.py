"""rigs.spool: HDF5 spooling of camera frames at disk speed, readable by h5py, PyTables and PYME.

API for the agent (everything here is importable from `rigs.spool`)::

    from rigs.spool import SpoolController, SpoolSettings, source_from_config, png_bytes

    controller = SpoolController(source_from_config(config["camera"]), rig="cam-left",
                                 on_event=lambda name, data: loop.call_soon_threadsafe(queue.put_nowait, (name, data)),
                                 hooks=[MirrorToFolder("/mnt/backup")])
    await asyncio.to_thread(controller.start, {"directory": "D:/data/%(year)04d-%(month)02d-%(day)02d",
                                               "compression": "blosc-lz4", "max_frames": 1000})
    controller.status()          # non-blocking: a rigs.messages.SpoolStatus
    controller.preview(256)      # latest frame, <= 256 px a side, uint8 (None before the first frame)
    controller.preview_png(256)  # the same as PNG bytes (zlib + struct, no Pillow)
    await asyncio.to_thread(controller.stop)   # returns the series result dict once the file is complete

SpoolController(source, *, rig=None, on_event=None, hooks=(), free_space=disk_free)
    start(settings: SpoolSettings | dict) -> SpoolStatus. Blocks (preflight, file creation, source open, ring
        allocation): call it through asyncio.to_thread. Raises PreflightError (preflight="abort"; the text says
        why), SpoolBusy (a series is running), ValueError (bad settings: unknown key named).
    stop(*, wait=True, timeout=60) -> result dict | None. Frames already captured are still written.
    wait(timeout=None) -> result dict | None: blocks until the current series ends.
    status() -> SpoolStatus (rigs.messages; the wire contract of a status's `spool` part): state
        (idle|starting|running|stopping|finished|failed), file, compression, frames (written), frames_captured,
        frames_flushed (safe against kill -9), dropped, max_frames, fps (to disk), fps_in (camera), mb_s_in,
        mb_s_disk, ratio, queue_fill (0..1: ring fill, 1 = dropping), queue_bytes (captured, not yet written),
        disk_free (bytes), seconds_to_full (at the current disk rate, keeping the reserve), elapsed_s, reason,
        error, active. Never waits for a start under way.
    queue_fill() -> float: status()'s queue_fill alone, cheap enough for a self-pacing source to poll per frame.
    preview(max_size=256) -> np.ndarray (uint8) | None;  preview_png(max_size=256) -> bytes | None.
    add_hook(hook); wait_hooks(timeout) -> [HookOutcome]; close() (stop + wait hooks; also a context manager).

Events, on_event(name, data), called from spooler threads:
    spool.started  {file, compression, shape, dtype, fps, max_frames, swmr}
    spool.stopped  result dict (file, frames, dropped, bytes_in, bytes_out, ratio, started, ended, seconds,
                   reason, error, complete, compression, outcome="ok", rig)
    spool.failed   the same with outcome="failed" and `error` saying why (disk_full, camera, writer ...)
    spool.dropped  {file, new, dropped, frames}, at most once a second while frames are being dropped
    spool.refused  {reason, preflight} before start() raises PreflightError
    spool.warning  {reason, preflight} when preflight="warn" lets a series start that may not fit
    spool.hook     {hook, file, ok, detail, seconds} once per hook after a series closed

Settings (SpoolSettings, or a dict of the same names): directory, subdirectory, series_pattern, compression
(none | blosc-lz4 | blosc-lz4-bitshuffle | blosc-zstd | gzip: too slow for live use), max_frames, metadata,
preflight (abort | warn | skip), preflight_seconds, expected_ratio, reserve_mb, swmr, buffer_mb, workers,
flush_interval_s (<= 2), sync_every_mb, axis_order (numpy | pyme), exp_ref.

Frame sources: FrameSource (subclass it for a real camera; see rigs.spool.source for the entry point group
`labweb.cameras` and "module:Class" paths), SyntheticCamera, ReplaySource, source_from_config(mapping).
File layout and crash behaviour: see rigs.spool.h5layout; is_complete(path) tells a finished file.
"""

from rigs.spool.codecs import COMPRESSIONS, get_codec
from rigs.spool.controller import FAILED, FINISHED, IDLE, RUNNING, STARTING, STOPPING, SpoolBusy, SpoolController
from rigs.spool.diskio import disk_free
from rigs.spool.h5layout import is_complete
from rigs.spool.hooks import HookOutcome, MirrorToFolder, SeriesHook
from rigs.spool.preflight import PreflightError, PreflightReport
from rigs.spool.preview import png_bytes
from rigs.spool.replay import ReplaySource
from rigs.spool.result import SeriesResult
from rigs.spool.settings import SpoolSettings
from rigs.spool.source import EndOfFrames, FrameSource
from rigs.spool.sources import source_from_config
from rigs.spool.synthetic import SyntheticCamera

__all__ = [
    "COMPRESSIONS", "EndOfFrames", "FAILED", "FINISHED", "FrameSource", "HookOutcome", "IDLE", "MirrorToFolder",
    "PreflightError", "PreflightReport", "RUNNING", "ReplaySource", "STARTING", "STOPPING", "SeriesHook", "SeriesResult",
    "SpoolBusy", "SpoolController", "SpoolSettings", "SyntheticCamera", "disk_free", "get_codec", "is_complete",
    "png_bytes", "source_from_config",
]
