"""A synthetic camera with realistic noisy frames (a static scene, shot noise, read noise, offset).

The noisy frames are computed once at open(), so delivering one is a memcpy: 2048x2048 uint16 runs at
several hundred frames/s on one core, which is what a spooler benchmark needs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rigs.spool.source import FrameSource


class SyntheticCamera(FrameSource):
    """Cycles through `variants` precomputed noisy frames of one scene at `fps` (None or 0: free-running)."""

    options = frozenset({"variants", "seed", "offset", "photons", "read_noise", "pixel_size_um"})

    def __init__(
        self,
        shape: tuple[int, int] = (2048, 2048),
        dtype: str = "uint16",
        fps: float | None = 30.0,
        *,
        variants: int = 8,
        seed: int = 0,
        offset: float = 100.0,
        photons: float = 400.0,
        read_noise: float = 2.0,
        pixel_size_um: float = 0.1,
    ):
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self.fps = float(fps) if fps else None
        self.variants = max(1, int(variants))
        self.seed, self.offset, self.photons = seed, offset, photons
        self.read_noise, self.pixel_size_um = read_noise, pixel_size_um
        self._frames: np.ndarray | None = None
        self._count = 0
        self._t0 = 0.0

    def open(self) -> None:
        if self._frames is None:
            self._frames = make_frames(self.shape, self.dtype, self.variants, seed=self.seed,
                                       offset=self.offset, photons=self.photons, read_noise=self.read_noise)
        self._count = 0
        self._t0 = time.monotonic()

    def close(self) -> None:
        """Keeps the precomputed frames: the next series starts at once."""

    def frame(self, n: int) -> np.ndarray:
        """The n-th frame this camera delivers after open() (tests compare files against it)."""
        if self._frames is None:
            self.open()
        return self._frames[n % self.variants]

    def read_into(self, out: np.ndarray, timeout: float) -> float | None:
        if self._frames is None:
            raise RuntimeError("SyntheticCamera.read_into before open()")
        if self.fps:
            wait = self._t0 + self._count / self.fps - time.monotonic()
            if wait > timeout:
                time.sleep(timeout)
                return None
            if wait > 0:
                time.sleep(wait)
        np.copyto(out, self._frames[self._count % self.variants])
        self._count += 1
        return time.time()

    def metadata(self) -> dict[str, Any]:
        height, width = self.shape
        cycle = 1.0 / self.fps if self.fps else 0.0
        return {
            "Camera.Name": "SyntheticCamera",
            "Camera.ADOffset": float(self.offset),
            "Camera.ElectronsPerCount": 1.0,
            "Camera.ReadNoise": float(self.read_noise),
            "Camera.NoiseFactor": 1.0,
            "Camera.TrueEMGain": 1.0,
            "Camera.CycleTime": cycle,
            "Camera.IntegrationTime": cycle,
            "Camera.ROIWidth": width,
            "Camera.ROIHeight": height,
            "Camera.ROIOriginX": 0,
            "Camera.ROIOriginY": 0,
            "voxelsize.x": float(self.pixel_size_um),
            "voxelsize.y": float(self.pixel_size_um),
            "voxelsize.units": "um",
        }


def make_frames(shape: tuple[int, int], dtype: np.dtype, count: int, *, seed: int = 0, offset: float = 100.0,
                photons: float = 400.0, read_noise: float = 2.0) -> np.ndarray:
    """`count` frames of one scene (soft blobs on a gradient) with shot and read noise, clipped to the dtype."""
    rng = np.random.default_rng(seed)
    scene = _scene(shape, rng) * photons
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    frames = np.empty((count, *shape), dtype=dtype)
    sigma = np.sqrt(scene + read_noise**2).astype(np.float32)
    for i in range(count):
        # Gaussian approximation of Poisson shot noise: same statistics at these counts, ten times faster.
        noisy = offset + scene + sigma * rng.standard_normal(shape, dtype=np.float32)
        if info is not None:
            np.clip(np.rint(noisy), info.min, info.max, out=noisy)
        frames[i] = noisy
    return frames


def _scene(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    height, width = shape
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    scene = 0.2 + 0.3 * x + 0.2 * y
    for _ in range(12):
        cy, cx = rng.random(2, dtype=np.float32)
        radius = 0.03 + 0.12 * float(rng.random())
        scene = scene + float(rng.random()) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * radius**2))
    return scene.astype(np.float32)
