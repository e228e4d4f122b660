"""The one small interface every frame source implements, and how a source is chosen from configuration.

A source delivers frames into memory the spooler owns (`read_into`), so the camera thread never allocates.
Plugging in a real camera driver: subclass `FrameSource` (or match its methods) and either
  - name it by dotted path in the rig config: `camera: {source: "mylab.cameras:Orca", ...}`, or
  - publish an entry point in your package, group `labweb.cameras`: `orca = "mylab.cameras:Orca"`,
    then `camera: {source: orca}`.
Every other key of the camera mapping is passed to the class as a keyword argument.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from typing import Any

import numpy as np

ENTRY_POINT_GROUP = "labweb.cameras"


class EndOfFrames(Exception):
    """The source has no more frames (a replay reached its end): the series ends normally."""


class FrameSource:
    """Base class of frame sources. Subclasses set `shape`, `dtype`, `fps` and implement `read_into`.

    Called from one thread only (the spooler's camera thread) between open() and close().
    """

    shape: tuple[int, int]
    dtype: np.dtype
    fps: float | None = None  # frames per second, None when free-running or unknown

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

    def __enter__(self) -> "FrameSource":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def source_from_config(config: Mapping[str, Any]) -> FrameSource:
    """Build a source from a rig config's `camera:` mapping.

    `source`: "synthetic" | "replay:<file.h5>" | an entry point name in `labweb.cameras` | "module:Class".
    """
    options = dict(config)
    spec = str(options.pop("source", "synthetic"))
    if "shape" in options:
        options["shape"] = tuple(int(v) for v in options["shape"])
    if spec == "synthetic":
        from rigs.spool.synthetic import SyntheticCamera

        return SyntheticCamera(**options)
    if spec.startswith("replay:"):
        from rigs.spool.replay import ReplaySource

        options.pop("shape", None)  # a replay's shape and dtype are the file's
        options.pop("dtype", None)
        return ReplaySource(spec.removeprefix("replay:"), **options)
    return load_plugin(spec)(**options)


def load_plugin(spec: str) -> type[FrameSource]:
    """A source class from an entry point name or a "module:Class" / "module.Class" path."""
    for entry in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == spec:
            return entry.load()
    module_name, sep, attr = spec.partition(":")
    if not sep:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"camera source {spec!r}: not synthetic, replay:<file>, an entry point or module:Class")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"camera source {spec!r} cannot be loaded: {exc}") from exc
