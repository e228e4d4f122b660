"""One running series: camera thread -> preallocated ring -> compression workers -> one writer thread -> HDF5.

The camera thread never waits for storage: when no ring slot is free the frame is read into a scratch buffer
and counted as dropped; the writer records the dropped frame numbers as FramesDropped events. Workers encode
outside HDF5 (in parallel, GIL released) and the writer puts chunks in frame order with write_direct_chunk.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from rigs.spool.blosc import MAX_OVERHEAD
from rigs.spool.codecs import Codec
from rigs.spool.diskio import CacheTrimmer
from rigs.spool.h5layout import Chunk, SeriesFile, finalize
from rigs.spool.preflight import FRAME_OVERHEAD_BYTES
from rigs.spool.preview import downsample
from rigs.spool.rates import RateMeter
from rigs.spool.reserve import is_no_space, reserve_open, reserve_size, stale_sweep
from rigs.spool.result import DISK_FULL, SeriesResult
from rigs.spool.ring import BufferPool, FrameRing
from rigs.spool.settings import SpoolSettings
from rigs.spool.source import EndOfFrames, FrameSource

log = logging.getLogger(__name__)

MIB = 1 << 20
READ_TIMEOUT_S = 0.25
WRITER_TICK_S = 0.05
DISK_CHECK_S = 0.2
DROP_REPORT_S = 1.0
PREVIEW_EVERY_S = 0.2
PREVIEW_MAX_PX = 512
MAX_BATCH = 32
# Small frames would otherwise turn a buffer of a gigabyte into millions of slots and pool buffers, each with its
# own bookkeeping (seen: 9 GB of memory for 8x8 frames). This many frames is minutes at any real camera rate.
MAX_RING_SLOTS = 16384
MAX_POOL_BUFFERS = 2048
# A batch is written only if this much stays free after it (the disk reserve holds the room for the close).
WRITE_FLOOR_BYTES = 256 << 10

EventCallback = Callable[[str, dict[str, Any]], None]


@dataclass
class _Item:
    index: int  # position in /ImageData
    frame_no: int  # camera frame number (dropped frames use numbers too)
    time: float
    slot: int | None  # ring slot still holding the raw frame, if any
    data: Any = None
    nbytes: int = 0  # bytes held outside the ring until written
    filtered: bool = False
    out: np.ndarray | None = None  # the pool buffer `data` lives in, given back once written


def _ranges(numbers: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5,9"."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}-{prev}" if prev != start else str(start))
        if n is not None:
            start = prev = n
    return ",".join(parts)


def drop_events(numbers: list[int], t: float, limit: int = 256) -> list[tuple[str, str, float]]:
    """FramesDropped events whose descriptions (frame number ranges) each fit in EventDescr's 256 bytes."""
    events, current = [], ""
    for part in _ranges(sorted(numbers)).split(","):
        candidate = f"{current},{part}" if current else part
        if len(candidate) > limit and current:
            events.append(("FramesDropped", current, t))
            candidate = part
        current = candidate
    if current:
        events.append(("FramesDropped", current, t))
    return events


def transposed(frame: np.ndarray, out: np.ndarray | None = None, band: int = 8) -> np.ndarray:
    """frame.T as a C-contiguous copy (into `out` if given), in bands of rows.

    Bands of rows beat one strided copy 2-10x, but the best band width depends on the CPU (2048x2048 uint16:
    one machine took 1.7 ms in bands of 8, 6 ms in bands of 64 and 20 ms strided; a Sapphire Rapids VM 19, 10
    and 35 ms). The spool benchmark's axis_order=pyme row shows what it costs on the machine at hand.
    """
    if out is None:
        out = np.empty(frame.shape[::-1], dtype=frame.dtype)
    for start in range(0, frame.shape[0], band):
        out[:, start:start + band] = frame[start:start + band].T
    return out


class Series:
    """Threads and counters of one series. Start with start(); end with request_stop(); join with wait()."""

    def __init__(self, *, file: SeriesFile, source: FrameSource, codec: Codec, settings: SpoolSettings,
                 free_space: Callable[[Path], int], on_event: EventCallback,
                 on_end: Callable[[SeriesResult], None], start_time: float):
        self.file, self.source, self.codec, self.settings = file, source, codec, settings
        self.path = file.path
        self._free_space, self._on_event, self._on_end = free_space, on_event, on_end
        self.start_time = start_time
        self.frame_shape = tuple(source.shape)
        self.frame_bytes = source.frame_bytes
        self._transpose = settings.axis_order == "pyme"
        # Raw frames stay in their slot until written when nothing re-encodes them.
        self._holds_slots = (codec.encode is None or codec.name == "none") and not self._transpose
        budget = int(settings.buffer_mb * MIB)
        self.pending_limit = 0 if self._holds_slots else max(budget // 4, 2 * settings.workers * self.frame_bytes)
        slots = min((budget - self.pending_limit) // self.frame_bytes, MAX_RING_SLOTS)
        if slots < 2:
            raise ValueError(f"buffer_mb={settings.buffer_mb} holds fewer than 2 frames of {self.frame_bytes} B")
        self.ring: FrameRing | None = FrameRing(int(slots), self.frame_shape, np.dtype(source.dtype))
        # Encoded chunks (and transposed frames) go into preallocated buffers: the pool is the pending limit.
        self._pool: BufferPool | None = None
        if not self._holds_slots and (codec.into or codec.name == "none"):
            size = self.frame_bytes + MAX_OVERHEAD
            self._pool = BufferPool(max(settings.workers + 1, min(self.pending_limit // size, MAX_POOL_BUFFERS)), size)
        self._work: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._ready: dict[int, _Item] = {}
        self._next = 0
        self._pending_bytes = 0
        self._drops_lock = threading.Lock()
        self._new_drops: list[int] = []
        self._stop = threading.Event()
        self._capture_done = threading.Event()
        self._ended = threading.Event()
        self._abort = threading.Event()
        self.reason: str | None = None
        self.error: str | None = None
        # counters: each written by one thread, read by anyone
        self.captured = self.accepted = self.dropped = 0
        self._reported_drops = 0
        self.written = self.flushed = self.bytes_out = 0
        self.disk_free = free_space(self.path.parent)
        # Room for the end of the series, taken now and given back for the close (reserve.py).
        stale_sweep(self.path.parent)
        self.reserve = reserve_open(self.path, reserve_size(self.frame_bytes))
        self._full = threading.Event()  # the disk filled up: frames still waiting are dropped, the file is closed
        if file.fileobj is not None:
            file.fileobj.on_full = self._on_disk_full
        self.result: SeriesResult | None = None
        self.rates = RateMeter(("captured", "written", "bytes_in", "bytes_out"))
        self._preview: np.ndarray | None = None
        self._preview_t = 0.0
        self._threads: list[threading.Thread] = []

    # -- control ---------------------------------------------------------------------------------------
    def start(self) -> None:
        self.file.add_events([("StartAq", "0", self.start_time)])  # PYME: first frame number of the series
        self.file.flush()
        # The camera starts last, so no frame exists before every thread that handles one is running.
        specs = [(f"spool-encode-{i}", self._encode_loop) for i in range(self.settings.workers)]
        specs += [("spool-writer", self._write_loop), ("spool-camera", self._capture_loop)]
        self._threads = [threading.Thread(target=fn, name=name, daemon=True) for name, fn in specs]
        for thread in self._threads:
            thread.start()

    def request_stop(self, reason: str = "requested", error: str | None = None) -> None:
        """Stop capturing; frames already captured are still written. The first reason given wins."""
        with self._cond:
            if self.reason is None:
                self.reason, self.error = reason, error
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def latest_preview(self) -> np.ndarray | None:
        return self._preview

    def in_flight_bytes(self) -> int:
        """Bytes captured but not yet written (raw frames in the ring + encoded chunks waiting)."""
        ring = self.ring
        return (ring.used * self.frame_bytes if ring else 0) + self._pending_bytes

    def ring_fill(self) -> float:
        """How close the camera is to dropping frames: 1.0 means the next frame finds no slot."""
        ring = self.ring
        return ring.used / ring.slots if ring else 0.0

    # -- camera thread ---------------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        ring = self.ring  # a local reference: _finish may drop the attribute while a stuck driver returns
        scratch = np.empty(self.frame_shape, dtype=ring.frames.dtype)  # where frames with no slot land
        max_frames = self.settings.max_frames
        try:
            while not self._stop.is_set():
                if max_frames and self.accepted >= max_frames:
                    self.request_stop("max_frames")
                    break
                slot = ring.try_acquire()
                t = self.source.read_into(scratch if slot is None else ring.frames[slot], READ_TIMEOUT_S)
                if t is None:
                    if slot is not None:
                        ring.release(slot)
                    continue
                if slot is None:
                    with self._drops_lock:
                        self._new_drops.append(self.captured)
                    self.dropped += 1
                else:
                    self._work.put(_Item(self.accepted, self.captured, t, slot))
                    self.accepted += 1
                self.captured += 1
        except EndOfFrames:
            self.request_stop("end_of_source")
        except Exception as exc:
            log.exception("camera source failed")
            self.request_stop("error", f"camera: {type(exc).__name__}: {exc}")
        finally:
            self._capture_done.set()
            for _ in range(self.settings.workers):
                self._work.put(None)
            with self._cond:
                self._cond.notify_all()

    # -- compression workers ---------------------------------------------------------------------------
    def _encode_loop(self) -> None:
        ring = self.ring
        # A transposed frame that is then compressed only needs to live until it is: one buffer per worker.
        scratch = (np.empty(self.frame_shape[::-1], dtype=ring.frames.dtype)
                   if self._transpose and self.codec.into else None)
        while (item := self._work.get()) is not None:
            if self._abort.is_set():
                ring.release(item.slot)
                continue
            try:
                out = self._wait_for_room(item)
                self._encode(item, ring, out, scratch)
            except Exception as exc:
                log.exception("encoding frame %d failed", item.index)
                self._fail(f"compression: {type(exc).__name__}: {exc}")
                continue
            with self._cond:
                self._ready[item.index] = item
                self._pending_bytes += item.nbytes
                self._cond.notify_all()

    def _wait_for_room(self, item: _Item) -> np.ndarray | None:
        """Wait until the encoded frame has somewhere to go: a pool buffer, or (no pool) room under the limit.

        The frame the writer needs next always goes through, or the writer and the workers would deadlock:
        with the pool empty it gets None, and the encoder allocates that one buffer.
        """
        with self._cond:
            while not self._abort.is_set():
                if self._pool is not None:
                    out = self._pool.take()
                    if out is not None or item.index == self._next:
                        return out
                elif (not self.pending_limit or self._pending_bytes <= self.pending_limit
                      or item.index == self._next):
                    return None
                self._cond.wait(0.1)
        return None

    def _encode(self, item: _Item, ring: FrameRing, out: np.ndarray | None, scratch: np.ndarray | None) -> None:
        frame = ring.frames[item.slot]
        now = time.monotonic()
        if now - self._preview_t >= PREVIEW_EVERY_S:
            self._preview_t = now
            self._preview = downsample(frame, PREVIEW_MAX_PX)
        if self._holds_slots:  # the raw frame goes to disk from its slot
            item.data, item.filtered = frame, self.codec.encode is None
            return
        item.out = out
        if self._transpose:  # PYME's (X, Y) order, done here, never in the camera thread
            if self.codec.name == "none" and out is not None:  # the transposed frame is the chunk itself
                scratch = out[:self.frame_bytes].view(frame.dtype).reshape(frame.shape[::-1])
            frame = transposed(frame, out=scratch)
        if self.codec.encode is None:
            item.data, item.filtered = frame, True
        elif self.codec.into:
            item.data = self.codec.encode(frame, out)
        else:
            item.data = self.codec.encode(frame)
        ring.release(item.slot)
        item.slot = None
        item.nbytes = item.data.nbytes if hasattr(item.data, "nbytes") else len(item.data)

    def _fail(self, message: str) -> None:
        self.request_stop("error", message)
        self._abort.set()
        with self._cond:
            self._cond.notify_all()

    # -- writer thread ---------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        complete = False
        try:
            with CacheTrimmer(self.path, every_bytes=int(self.settings.sync_every_mb * MIB),
                              interval=self.settings.flush_interval_s) as trimmer:
                self._write_frames(trimmer)
                if not self.reserve.in_file:
                    self.reserve.release()  # a reserve file gives its room to the close now
                self._write_tail()
                self.file.close()
            finalize(self.path, self._end_entries(), swmr=self.settings.swmr)
            complete = True
        except Exception as exc:
            if not self.reserve.in_file:  # an in-file reserve still holds the room the close needs
                self.reserve.release()
            if is_no_space(exc):
                log.error("writing %s: the disk is full: %s", self.path, exc)
                self.request_stop(DISK_FULL, f"disk full while writing {self.path.name}: {exc}")
            else:
                log.exception("writing %s failed", self.path)
            self._fail(f"writer: {type(exc).__name__}: {exc}")
            self._close_quietly()
        finally:
            self.reserve.release()
            self._finish(complete)

    def _on_disk_full(self) -> bool:
        """The file's driver hit ENOSPC (someone else filled the disk): stop, and give a reserve file's room back
        so the write can be tried again (an in-file reserve keeps its room for the close)."""
        self._full.set()
        self.request_stop(DISK_FULL, f"disk full on {self.path.parent}: series stopped after {self.written} frames "
                                     "written (the rest of what the camera sent was dropped)")
        return False if self.reserve.in_file else self.reserve.release()

    def _write_frames(self, trimmer: CacheTrimmer) -> None:
        last_flush = last_disk = time.monotonic()
        last_drop_report = float("-inf")
        while True:
            batch = self._take_batch()
            if batch and not self._room_for(batch, trimmer):
                self._discard(batch)
                batch = []
            if batch:
                nbytes = self.file.append([Chunk(i.index, i.frame_no, i.time, i.data, i.filtered) for i in batch])
                self._release(batch)
                self.bytes_out += nbytes
                self.written = self.file.frames
                trimmer.wrote(nbytes)
            self.file.add_events(self._take_drop_events())
            now = time.monotonic()
            self.rates.add(now, self.captured, self.written, self.written * self.frame_bytes, self.bytes_out)
            if now - last_flush >= self.settings.flush_interval_s:
                self.file.flush()
                self.flushed, last_flush = self.written, now
            if batch or now - last_disk >= DISK_CHECK_S:  # statvfs is microseconds: check every batch
                last_disk = now
                self._check_disk()
            if now - last_drop_report >= DROP_REPORT_S and self._report_drops():
                last_drop_report = now
            if self._abort.is_set():
                raise RuntimeError(self.error or "aborted")
            if self._capture_done.is_set() and self._next >= self.accepted and not self._ready:
                return

    def _room_for(self, batch: list[_Item], trimmer: CacheTrimmer) -> bool:
        """Whether the batch fits on the disk (checked before every write, not only now and then); once it does
        not, the series is stopped as disk_full and nothing more is written."""
        if not self._full.is_set():
            if trimmer.error is not None and is_no_space(trimmer.error):
                self._full.set()
            else:
                need = sum(i.nbytes or self.frame_bytes for i in batch) + len(batch) * FRAME_OVERHEAD_BYTES
                self.disk_free = self._free_space(self.path.parent)
                if self.disk_free - need >= WRITE_FLOOR_BYTES and self.reserve.ensure(need):
                    return True
                self._full.set()
            self.request_stop(DISK_FULL, (
                f"disk full: {self.disk_free / 1e6:,.1f} MB free on {self.path.parent}; series stopped after "
                f"{self.written} frames written (frames still in memory were dropped)"))
        return False

    def _discard(self, batch: list[_Item]) -> None:
        """Frames that will never be written (the disk is full): counted and recorded as dropped."""
        with self._drops_lock:
            self._new_drops.extend(item.frame_no for item in batch)
        self.dropped += len(batch)
        self._release(batch)

    def _take_batch(self) -> list[_Item]:
        with self._cond:
            if self._next not in self._ready and not self._abort.is_set():
                self._cond.wait(WRITER_TICK_S)
            batch = []
            while self._next + len(batch) in self._ready and len(batch) < MAX_BATCH:
                batch.append(self._ready.pop(self._next + len(batch)))
            return batch

    def _release(self, batch: list[_Item]) -> None:
        for item in batch:
            if item.slot is not None:
                self.ring.release(item.slot)
            if item.out is not None:
                self._pool.give(item.out)
                item.out = item.data = None
        with self._cond:
            self._next += len(batch)
            self._pending_bytes -= sum(item.nbytes for item in batch)
            self._cond.notify_all()

    def _take_drop_events(self) -> list[tuple[str, str, float]]:
        with self._drops_lock:
            numbers, self._new_drops = self._new_drops, []
        return drop_events(numbers, time.time()) if numbers else []

    def _check_disk(self) -> None:
        self.disk_free = self._free_space(self.path.parent)
        ratio = max(1.0, (self.written * self.frame_bytes) / self.bytes_out) if self.bytes_out else 1.0
        # Everything already captured will still be written: count it against the free space now.
        coming = self.ring.used * self.frame_bytes / ratio + self._pending_bytes
        reserve = self.settings.reserve_mb * 1e6
        if self.disk_free - coming < reserve and not self._stop.is_set():
            self.request_stop(DISK_FULL, (
                f"disk nearly full: {self.disk_free / 1e6:,.0f} MB free on {self.path.parent}, "
                f"{coming / 1e6:,.0f} MB still to write, reserve {reserve / 1e6:,.0f} MB; "
                f"series stopped after {self.captured} captured frames"))

    def _report_drops(self) -> bool:
        """Tell the owner about frames dropped since the last report (rate-limited by the caller)."""
        dropped = self.dropped
        if dropped <= self._reported_drops:
            return False
        self._on_event("spool.dropped", {"file": str(self.path), "new": dropped - self._reported_drops,
                                         "dropped": dropped, "frames": self.written})
        self._reported_drops = dropped
        return True

    def _write_tail(self) -> None:
        self._report_drops()
        self.file.add_events(self._take_drop_events())
        last = self.file.frame_info[-1]["FrameNum"] if self.file.frames else -1
        self.file.add_events([("StopAq", str(int(last)), time.time())])
        self.file.flush()
        self.flushed = self.written

    def _end_entries(self) -> dict[str, Any]:
        return {
            "EndTime": time.time(),
            "Spool.Frames": self.written,
            "Spool.CapturedFrames": self.captured,
            "Spool.DroppedFrames": self.dropped,
            "Spool.BytesWritten": self.bytes_out,
            "Spool.CompressionRatio": (self.written * self.frame_bytes / self.bytes_out) if self.bytes_out else 1.0,
            "Spool.StopReason": self.reason or "requested",
            "Spool.Error": self.error or "",
        }

    def _close_quietly(self) -> None:
        try:
            self.file.close()
        except Exception:
            log.exception("closing %s after a failure", self.path)

    def _frames_in_file(self) -> int:
        """The frames a reader finds in the file, after a failure: what the series reports is what is there."""
        try:
            with h5py.File(self.path, "r") as f:
                return int(f["ImageData"].shape[0])
        except Exception as exc:
            log.error("%s cannot be read back after the failure: %s", self.path, exc)
            return 0

    def _finish(self, complete: bool) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread() and thread.ident is not None:
                thread.join(timeout=5.0)
        if not complete:
            in_file = self._frames_in_file()
            if in_file != self.written:
                log.warning("%s holds %d frames, not the %d written: reporting %d", self.path, in_file,
                            self.written, in_file)
                self.written = self.flushed = in_file
        self.result = SeriesResult(
            path=self.path, frames=self.written, dropped=self.dropped, bytes_in=self.written * self.frame_bytes,
            bytes_out=self.bytes_out, started=self.start_time, ended=time.time(),
            reason=self.reason or "requested", error=self.error, complete=complete,
            compression=self.codec.name,
        )
        self.ring = self._pool = None  # give the buffer memory back now, not when the owner forgets this series
        self._ended.set()
        self._on_end(self.result)
