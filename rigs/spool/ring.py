"""A bounded, preallocated ring of frame slots between the camera thread and the compression workers."""

from __future__ import annotations

import mmap
from collections import deque

import numpy as np

PAGE = mmap.PAGESIZE


class FrameRing:
    """`slots` frames of one shape and dtype, allocated and touched once so the camera never page-faults.

    The buffer is an anonymous mapping, so it starts on a page boundary: a slot whose size is a whole number of
    pages can go to disk with O_DIRECT straight from the ring (see h5layout), with no bounce copy.
    try_acquire never blocks: a full ring means the caller drops the frame (and counts it).
    deque append/popleft are atomic under the GIL, so no lock is needed across the three thread kinds.
    """

    def __init__(self, slots: int, shape: tuple[int, ...], dtype: np.dtype):
        if slots < 1:
            raise ValueError("a ring needs at least one slot")
        dtype = np.dtype(dtype)
        nbytes = slots * int(np.prod(shape)) * dtype.itemsize
        self._buffer = mmap.mmap(-1, max(nbytes, 1))  # freed when the last view of it goes
        if hasattr(self._buffer, "madvise") and hasattr(mmap, "MADV_HUGEPAGE"):
            self._buffer.madvise(mmap.MADV_HUGEPAGE)  # as numpy does for large arrays: fewer faults and TLB misses
        self.frames = np.frombuffer(self._buffer, dtype=dtype, count=nbytes // dtype.itemsize).reshape(slots, *shape)
        self.frames.fill(0)  # fault every page in now, not in the camera thread
        self.slots = slots
        self._free: deque[int] = deque(range(slots))

    def try_acquire(self) -> int | None:
        try:
            return self._free.popleft()
        except IndexError:
            return None

    def release(self, slot: int) -> None:
        self._free.append(slot)

    @property
    def used(self) -> int:
        return self.slots - len(self._free)

    @property
    def nbytes(self) -> int:
        return self.frames.nbytes
