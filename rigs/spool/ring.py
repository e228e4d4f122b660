"""A bounded, preallocated ring of frame slots between the camera thread and the compression workers."""

from __future__ import annotations

from collections import deque

import numpy as np


class FrameRing:
    """`slots` frames of one shape and dtype, allocated and touched once so the camera never page-faults.

    try_acquire never blocks: a full ring means the caller drops the frame (and counts it).
    deque append/popleft are atomic under the GIL, so no lock is needed across the three thread kinds.
    """

    def __init__(self, slots: int, shape: tuple[int, ...], dtype: np.dtype):
        if slots < 1:
            raise ValueError("a ring needs at least one slot")
        self.frames = np.empty((slots, *shape), dtype=dtype)
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
