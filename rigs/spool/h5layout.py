"""The HDF5 layout of one series, as PYME, PyTables, h5py and h5dump read it (DESIGN 4.3).

/ImageData  (frames, height, width), one frame per chunk, DimOrder/SizeC/SizeZ/SizeT attributes
/Events     EventDescr S256, EventName S32, Time f8 (this order: PYME takes fields by position)
/FrameInfo  FrameNum i8, Time f8 per stored frame (camera frame number and epoch time)
/MetaData   nested groups of scalar attributes; MetaData/Spool.Complete = 1 is written last

libver ("earliest", "v110") + a flush every <= 2 s survives kill -9 for h5py, PyTables and PYME; SWMR needs
("v110", "v110") and then only h5py (swmr=True) reads the file until it is closed.

Non-SWMR series on an OS with O_DIRECT are written through h5py's fileobj driver onto a DirectFile (see
diskio): large allocations start on 4 KiB boundaries, so each chunk HDF5 writes goes to disk from the encoder's
(or the ring's) page-aligned buffer with O_DIRECT, bypassing the page cache. The file is an ordinary HDF5 file;
only how its bytes reach the disk differs. SWMR needs HDF5's own POSIX driver, so SWMR series use it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (filters for reading back)
import numpy as np

from rigs.spool import metadata
from rigs.spool.codecs import Codec
from rigs.spool.diskio import DIRECT_ALIGN, DIRECT_MIN, DirectFile, fsync_path

LIBVER = ("earliest", "v110")
SWMR_LIBVER = ("v110", "v110")
EVENT_DTYPE = np.dtype([("EventDescr", "S256"), ("EventName", "S32"), ("Time", "<f8")])
FRAME_DTYPE = np.dtype([("FrameNum", "<i8"), ("Time", "<f8")])
COMPLETE_KEY = "Spool.Complete"


@dataclass
class Chunk:
    """One frame on its way to /ImageData: `data` is the encoded chunk (or the raw frame)."""

    index: int
    frame_no: int
    time: float
    data: Any
    filtered: bool = False  # data is a raw frame to push through the HDF5 filter pipeline


class SeriesFile:
    """One open series file, used by the writer thread only (h5py serialises HDF5 calls anyway)."""

    def __init__(self, f: h5py.File, path: Path, swmr: bool, fileobj: DirectFile | None = None):
        self.f = f
        self.path = path
        self.swmr = swmr
        self.image = f["ImageData"]
        self.events = f["Events"]
        self.frame_info = f["FrameInfo"]
        self.frames = 0
        self.fileobj = fileobj  # what h5py writes through when the file bypasses the page cache

    @classmethod
    def create(cls, path: Path, frame_shape: tuple[int, int], dtype: np.dtype, codec: Codec, *,
               swmr: bool = False, entries: Mapping[str, Any] = ()) -> SeriesFile:
        """Create `path` exclusively (FileExistsError if it exists: a file is never overwritten)."""
        frame_bytes = int(np.prod(frame_shape)) * np.dtype(dtype).itemsize
        fileobj = None
        if not swmr and hasattr(os, "O_DIRECT"):
            fileobj = DirectFile(path)  # O_EXCL
            # Chunks (and anything else that large) start on a page boundary, as O_DIRECT needs.
            align = {"alignment_threshold": min(frame_bytes, DIRECT_MIN), "alignment_interval": DIRECT_ALIGN}
            try:
                f = h5py.File(fileobj, "w", libver=LIBVER, **align)
            except BaseException:
                fileobj.close()
                path.unlink(missing_ok=True)
                raise
        else:
            f = h5py.File(path, "x", libver=SWMR_LIBVER if swmr else LIBVER)
        try:
            image = f.create_dataset(
                "ImageData", shape=(0, *frame_shape), maxshape=(None, *frame_shape), chunks=(1, *frame_shape),
                dtype=dtype, **codec.h5_options,
            )
            image.attrs["DimOrder"] = np.bytes_(b"XYCZT")
            for name, value in (("SizeC", 1), ("SizeZ", 1), ("SizeT", -1)):  # SizeT -1: count the frames
                image.attrs[name] = np.int64(value)
            f.create_dataset("Events", shape=(0,), maxshape=(None,), chunks=(64,), dtype=EVENT_DTYPE)
            f.create_dataset("FrameInfo", shape=(0,), maxshape=(None,), chunks=(4096,), dtype=FRAME_DTYPE)
            metadata.write_entries(f, entries)
            f.flush()
            if swmr:
                f.swmr_mode = True  # no new objects or attributes from here until the file is closed
        except BaseException:
            f.close()
            if fileobj is not None:
                fileobj.close()
            path.unlink(missing_ok=True)
            raise
        return cls(f, path, swmr, fileobj)

    def append(self, chunks: Sequence[Chunk]) -> int:
        """Write consecutive frames; the extent grows only to what is written. Returns bytes written.

        If a write fails, the frames before it are kept and the extent is cut back to them when the file is
        closed: HDF5 cannot shrink a dataset in the process a chunk write just failed in (its chunk index
        refuses, or worse), but a clean reopen can.
        """
        if not chunks:
            return 0
        start = self.frames
        if chunks[0].index != start or chunks[-1].index != start + len(chunks) - 1:
            raise RuntimeError(f"frames out of order: expected {start}, got {chunks[0].index}..")
        self.image.resize(start + len(chunks), axis=0)
        written = done = 0
        try:
            for chunk in chunks:
                if chunk.filtered:
                    self.image.write_direct(np.ascontiguousarray(chunk.data), dest_sel=np.s_[chunk.index])
                    written += self.image.id.get_chunk_info_by_coord((chunk.index, 0, 0)).size
                else:
                    self.image.id.write_direct_chunk((chunk.index, 0, 0), chunk.data)
                    written += chunk.data.nbytes if hasattr(chunk.data, "nbytes") else len(chunk.data)
                done += 1
        finally:
            self._append_info(chunks[:done], start)
        return written

    def _append_info(self, chunks: Sequence[Chunk], start: int) -> None:
        if not chunks:
            return
        end = start + len(chunks)
        rows = np.array([(c.frame_no, c.time) for c in chunks], dtype=FRAME_DTYPE)
        self.frame_info.resize(end, axis=0)
        self.frame_info[start:end] = rows
        self.frames = end

    def add_events(self, events: Sequence[tuple[str, str, float]]) -> None:
        """Append (name, description, epoch time) rows; names over 32 and texts over 256 bytes are cut."""
        if not events:
            return
        rows = np.array([(descr.encode()[:256], name.encode()[:32], t) for name, descr, t in events],
                        dtype=EVENT_DTYPE)
        n = self.events.shape[0]
        self.events.resize(n + len(rows), axis=0)
        self.events[n:] = rows

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:
        overhang = self.f.id.valid and self.image.shape[0] > self.frames  # a failed append left unwritten frames
        # If HDF5 fails to close, it may still write through the fileobj later (when h5py's objects are freed):
        # its descriptor must stay open then, or that late write crashes the process.
        self.f.close()
        if self.fileobj is not None:
            self.fileobj.close()
            self.fileobj = None
        if overhang:
            trim_extent(self.path, self.frames)


def trim_extent(path: Path, frames: int) -> None:
    """Cut /ImageData back to the `frames` actually written (after a failed write, from a fresh open)."""
    with h5py.File(path, "r+", libver=LIBVER) as f:
        f["ImageData"].resize(frames, axis=0)
        f.flush()


def finalize(path: Path, entries: Mapping[str, Any], *, swmr: bool) -> None:
    """Write end-of-series metadata, make it durable, and only then mark the file complete.

    Runs after the writer closed the file: attributes cannot be added under SWMR, and a clean reopen makes the
    order on disk certain (frames and events, then metadata, then Complete).
    """
    fsync_path(path)
    with h5py.File(path, "r+", libver=SWMR_LIBVER if swmr else LIBVER) as f:
        metadata.write_entries(f, entries)
        f.flush()
        fsync_path(path)
        metadata.write_entries(f, {COMPLETE_KEY: 1})
        f.flush()
    fsync_path(path)


def is_complete(path: str | Path) -> bool:
    """True when a series file was closed with everything on disk (MetaData/Spool.Complete == 1)."""
    try:
        with h5py.File(path, "r") as f:
            group = f.get("MetaData/Spool")
            return group is not None and int(group.attrs.get("Complete", 0)) == 1
    except OSError:
        return False
