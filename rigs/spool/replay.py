"""A frame source that replays the frames of an existing HDF5 file (a previous series, a reference movie)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (registers the filters a recorded file may use)
import numpy as np

from rigs.spool.source import EndOfFrames, FrameSource


class ReplaySource(FrameSource):
    """Frames of `dataset` (frames, height, width) in `path`, at `fps` (None: as fast as read), once or looped.

    Reading goes through h5py, which serialises HDF5 calls process-wide: the camera thread may wait for the
    writer's HDF5 calls (a few ms per chunk). Fine for tests and demos; a real camera does not share the lock.
    """

    options = frozenset({"dataset", "loop"})

    def __init__(self, path: str | Path, *, dataset: str = "ImageData", fps: float | None = None,
                 loop: bool = False):
        self.path = Path(path)
        self.dataset_name = dataset
        self.fps = float(fps) if fps else None
        self.loop = loop
        with h5py.File(self.path, "r") as f:
            dset = f[dataset]
            if dset.ndim != 3:
                raise ValueError(f"{self.path}:{dataset} has shape {dset.shape}, expected (frames, height, width)")
            self.frames = int(dset.shape[0])
            self.shape = (int(dset.shape[1]), int(dset.shape[2]))
            self.dtype = dset.dtype
            self._source_metadata = _camera_metadata(f)
        self._file: h5py.File | None = None
        self._next = 0
        self._t0 = 0.0

    def open(self) -> None:
        self._file = h5py.File(self.path, "r")
        self._next = 0
        self._t0 = time.monotonic()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def read_into(self, out: np.ndarray, timeout: float) -> float | None:
        if self._file is None:
            raise RuntimeError("ReplaySource.read_into before open()")
        index = self._next % self.frames if self.loop else self._next
        if index >= self.frames or self.frames == 0:
            raise EndOfFrames(f"{self.path} has {self.frames} frames")
        if self.fps:
            wait = self._t0 + self._next / self.fps - time.monotonic()
            if wait > timeout:
                time.sleep(timeout)
                return None
            if wait > 0:
                time.sleep(wait)
        self._file[self.dataset_name].read_direct(out, source_sel=np.s_[index])
        self._next += 1
        return time.time()

    def metadata(self) -> dict[str, Any]:
        height, width = self.shape
        return {**self._source_metadata, "Camera.Name": "ReplaySource", "Replay.File": str(self.path),
                "Camera.ROIWidth": width, "Camera.ROIHeight": height}


def _camera_metadata(f: h5py.File) -> dict[str, Any]:
    """The recorded file's Camera.* and voxelsize.* entries, so a replayed series keeps its calibration."""
    found: dict[str, Any] = {}
    for group_name in ("Camera", "voxelsize"):
        group = f.get(f"MetaData/{group_name}")
        if isinstance(group, h5py.Group):
            for key, value in group.attrs.items():
                if np.ndim(value) == 0:
                    found[f"{group_name}.{key}"] = value.decode() if isinstance(value, bytes) else value
    return found
