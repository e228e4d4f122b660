"""The one small interface every frame source implements (rigs.spool.sources chooses one from configuration).

A source delivers frames into memory the spooler owns (`read_into`), so the camera thread never allocates.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class EndOfFrames(Exception):
    """The source has no more frames (a replay reached its end): the series ends normally."""


class FrameSource:
    """Base class of frame sources. Subclasses set `shape`, `dtype`, `fps` and implement `read_into`.

    Called from one thread only (the spooler's camera thread) between open() and close().
    """

    shape: tuple[int, int]
    dtype: np.dtype
    fps: float | None = None  # frames per second, None when free-running or unknown
    # The keyword options this source takes from a rig.yaml `camera:` section beyond source, shape, dtype, fps
    # and label (e.g. {"exposure_ms", "serial"}); any other key there is an error naming it.
    options: ClassVar[frozenset[str]] = frozenset()

    def open(self) -> None:
        """Start acquisition (called at the start of each series)."""

    def close(self) -> None:
        """Stop acquisition and release the device (called at the end of each series)."""

    def read_into(self, out: np.ndarray, timeout: float) -> float | None:
        """Copy the next frame into `out` (shape, dtype) and return its time in epoch seconds.

        Return None if no frame arrived within `timeout` seconds; raise EndOfFrames when there are no more.
        Must return promptly: the spooler never makes this wait for storage, so neither should the driver.
        """
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        """Camera settings for /MetaData as dotted keys (Camera.ADOffset, Camera.CycleTime, ...)."""
        return {}

    @property
    def frame_bytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
