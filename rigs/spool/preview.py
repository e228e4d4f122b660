"""Small previews of the latest frame: downsample, scale to uint8, and encode as PNG with zlib + struct only."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def downsample(frame: np.ndarray, max_size: int = 256) -> np.ndarray:
    """Nearest-neighbour pick of rows and columns so the longer side is `max_size` (a copy: the source
    buffer gets reused). Frames already small enough are copied as they are."""
    height, width = frame.shape[:2]
    scale = min(1.0, max_size / max(height, width))
    rows = np.linspace(0, height - 1, max(1, round(height * scale))).round().astype(np.intp)
    cols = np.linspace(0, width - 1, max(1, round(width * scale))).round().astype(np.intp)
    return frame[np.ix_(rows, cols)]


def to_uint8(image: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> np.ndarray:
    """Contrast-stretch between two percentiles, so noise around an offset still shows structure."""
    data = image.astype(np.float32, copy=False)
    low, high = np.percentile(data, [low_pct, high_pct])
    if high <= low:
        high = low + 1.0
    scaled = (data - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def png_bytes(gray: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of a 2-D uint8 array."""
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError("png_bytes takes a 2-D uint8 array")
    height, width = gray.shape
    rows = np.empty((height, width + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "None" on every scanline
    rows[:, 1:] = gray

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit, greyscale, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + chunk(b"IEND", b""))
