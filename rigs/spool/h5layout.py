"""The HDF5 layout of one series, as PYME, PyTables, h5py and h5dump read it (DESIGN 4.3).

/ImageData  (frames, height, width), one frame per chunk, DimOrder/SizeC/SizeZ/SizeT attributes
/Events     EventDescr S256, EventName S32, Time f8 (this order: PYME takes fields by position)
/FrameInfo  FrameNum i8, Time f8 per stored frame (camera frame number and epoch time)
/MetaData   nested groups of scalar attributes; MetaData/Spool.Complete = 1 is written last

libver ("earliest", "v110") + a flush every <= 2 s survives kill -9 for h5py, PyTables and PYME; SWMR needs
("v110", "v110") and then only h5py (swmr=True) reads the file until it is closed.

Uncompressed, non-SWMR series write frames outside HDF5 ("raw" mode), still a plain HDF5 file: chunks are
allocated early (H5D_ALLOC_TIME_EARLY, never filled) and 4 KiB-aligned, so growing /ImageData by a batch
reserves its chunks in the chunk index; the writer then writes each frame at its chunk's address (O_DIRECT when
possible) before it flushes again, so every flushed index points at frames already on disk (a kill -9 keeps
what the last flush published, as with write_direct_chunk). Readers see an ordinary chunked dataset.
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
from rigs.spool.diskio import RawWriter, fsync_path

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

    def __init__(self, f: h5py.File, path: Path, swmr: bool, raw: RawWriter | None = None):
        self.f = f
        self.path = path
        self.swmr = swmr
        self.image = f["ImageData"]
        self.events = f["Events"]
        self.frame_info = f["FrameInfo"]
        self.frames = 0
        self.raw = raw  # frames written at their chunk addresses, outside HDF5 (see the module docstring)

    @classmethod
    def create(cls, path: Path, frame_shape: tuple[int, int], dtype: np.dtype, codec: Codec, *,
               swmr: bool = False, entries: Mapping[str, Any] = (), raw: bool = False) -> "SeriesFile":
        """Create `path` exclusively (FileExistsError if it exists: a file is never overwritten).

        raw: write uncompressed frames at their chunk addresses (ignored with SWMR, a codec, no O_DIRECT, or
        frames that are not a whole number of 4 KiB pages).
        """
        frame_bytes = int(np.prod(frame_shape)) * np.dtype(dtype).itemsize
        # Only frames of whole pages gain anything (and lose no space to alignment).
        raw = raw and not swmr and not codec.h5_options and hasattr(os, "O_DIRECT") and frame_bytes % 4096 == 0
        # Chunks (and anything else that large) start on a 4 KiB boundary, as O_DIRECT needs.
        align = {"alignment_threshold": frame_bytes, "alignment_interval": 4096} if raw else {}
        f = h5py.File(path, "x", libver=SWMR_LIBVER if swmr else LIBVER, **align)
        writer = None
        try:
            dcpl = None
            if raw:
                writer = RawWriter(path)
                dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)  # resize reserves the chunks ...
                dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)  # ... without writing zeros into them first
            image = f.create_dataset(
                "ImageData", shape=(0, *frame_shape), maxshape=(None, *frame_shape), chunks=(1, *frame_shape),
                dtype=dtype, dcpl=dcpl, **codec.h5_options,
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
            if writer is not None:
                writer.close()
            f.close()
            path.unlink(missing_ok=True)
            raise
        return cls(f, path, swmr, writer)

    def append(self, chunks: Sequence[Chunk]) -> int:
        """Write consecutive frames; the extent grows only to what is written. Returns bytes written."""
        if not chunks:
            return 0
        start = self.frames
        if chunks[0].index != start or chunks[-1].index != start + len(chunks) - 1:
            raise RuntimeError(f"frames out of order: expected {start}, got {chunks[0].index}..")
        end = start + len(chunks)
        self.image.resize(end, axis=0)
        if self.raw is not None:
            return self._append_raw(chunks, start)
        written = 0
        for chunk in chunks:
            if chunk.filtered:
                self.image.write_direct(np.ascontiguousarray(chunk.data), dest_sel=np.s_[chunk.index])
                written += self.image.id.get_chunk_info_by_coord((chunk.index, 0, 0)).size
            else:
                self.image.id.write_direct_chunk((chunk.index, 0, 0), chunk.data)
                written += chunk.data.nbytes if hasattr(chunk.data, "nbytes") else len(chunk.data)
        self._append_info(chunks, start)
        return written

    def _append_raw(self, chunks: Sequence[Chunk], start: int) -> int:
        """The resize above reserved the chunks: write each frame at its chunk's address."""
        written = 0
        try:
            for chunk in chunks:
                info = self.image.id.get_chunk_info_by_coord((chunk.index, 0, 0))
                if info.byte_offset is None or info.size != chunk.data.nbytes:
                    raise RuntimeError(f"frame {chunk.index}: chunk not reserved as expected ({info})")
                written += self.raw.write_at(chunk.data, info.byte_offset)
        except BaseException:
            self.image.resize(start, axis=0)  # no reserved chunk without its frame stays in the extent
            raise
        self._append_info(chunks, start)
        return written

    def _append_info(self, chunks: Sequence[Chunk], start: int) -> None:
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
        try:
            self.f.close()
        finally:
            if self.raw is not None:
                self.raw.close()
                self.raw = None


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
