"""A bounded, preallocated ring of frame slots between the camera thread and the compression workers."""

from __future__ import annotations

import mmap
import sys
from collections import deque

import numpy as np

PAGE = mmap.PAGESIZE


def anonymous_memory(nbytes: int) -> mmap.mmap:
    """Private anonymous memory on a page boundary, in huge pages where the OS allows (as numpy does).

    Private, not mmap's default MAP_SHARED: shared anonymous memory is shmem, which gets no transparent huge
    pages and faults more slowly (the compression workers measured ~10% slower reading from it).
    """
    if sys.platform != "win32":
        buffer = mmap.mmap(-1, max(nbytes, 1), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    else:  # Windows: a page-file backed mapping, page-aligned too
        buffer = mmap.mmap(-1, max(nbytes, 1))
    if hasattr(buffer, "madvise") and hasattr(mmap, "MADV_HUGEPAGE"):
        buffer.madvise(mmap.MADV_HUGEPAGE)
    return buffer


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
        self._buffer = anonymous_memory(nbytes)  # freed when the last view of it goes
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


class BufferPool:
    """`count` byte buffers of at least `size` bytes for what the workers produce (encoded chunks, transposed
    frames), preallocated once like the ring: no page faults per frame, and a fixed memory cost.

    take() never blocks (None when all are in use); give() returns a buffer once the writer is done with it.
    """

    def __init__(self, count: int, size: int):
        if count < 1:
            raise ValueError("a pool needs at least one buffer")
        self.size = -(-size // PAGE) * PAGE  # whole pages, so every buffer starts on a page boundary
        self.count = count
        self._buffer = anonymous_memory(count * self.size)
        whole = np.frombuffer(self._buffer, dtype=np.uint8)
        whole.fill(0)  # fault every page in now
        self._free: deque[np.ndarray] = deque(whole[i * self.size:(i + 1) * self.size] for i in range(count))

    def take(self) -> np.ndarray | None:
        try:
            return self._free.pop()  # the most recently returned: likeliest still in cache
        except IndexError:
            return None

    def give(self, buffer: np.ndarray) -> None:
        self._free.append(buffer)

    @property
    def available(self) -> int:
        return len(self._free)

    @property
    def nbytes(self) -> int:
        return self.count * self.size
