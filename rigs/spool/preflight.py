"""Before a series starts: does its estimated size fit in the free space, and for how long will it run?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Per-frame cost beyond the pixels: chunk index entry, blosc header, FrameInfo row (generous).
FRAME_OVERHEAD_BYTES = 256
MB = 1_000_000


class PreflightError(RuntimeError):
    """The series would not fit (preflight=abort); the text says by how much, for the operator."""


@dataclass(frozen=True)
class PreflightReport:
    ok: bool
    estimated_bytes: int
    estimated_seconds: float | None
    free_bytes: int
    reserve_bytes: int
    frames: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate(*, frame_bytes: int, fps: float | None, max_frames: int | None, free_bytes: int,
             reserve_bytes: int, expected_ratio: float = 1.0, default_seconds: float = 60.0) -> PreflightReport:
    """Compare the series' estimated size (max_frames, or `default_seconds` at `fps`) with free space.

    Without a frame limit and without a frame rate the size is unknown: only the reserve is checked, and the
    message says so.
    """
    per_frame = frame_bytes / expected_ratio + FRAME_OVERHEAD_BYTES
    if max_frames:
        frames: int | None = max_frames
    elif fps:
        frames = int(round(default_seconds * fps))
    else:
        frames = None
    size = int(per_frame * frames) if frames else 0
    seconds = frames / fps if (frames and fps) else None
    usable = free_bytes - reserve_bytes
    ok = size <= usable
    what = (f"{frames} frames ({size / MB:,.0f} MB" + (f", {seconds:,.0f} s at {fps:g} fps)" if seconds else ")")
            if frames else "an open-ended series of unknown size")
    verdict = "fits" if ok else f"does not fit: short by {(size - usable) / MB:,.0f} MB"
    message = (f"{what} {verdict} in {free_bytes / MB:,.0f} MB free (keeping {reserve_bytes / MB:,.0f} MB in reserve)")
    if ok and fps and usable > 0:
        message += f"; the disk would hold {usable / (per_frame * fps):,.0f} s at {fps:g} fps"
    return PreflightReport(ok, size, seconds, free_bytes, reserve_bytes, frames, message)
