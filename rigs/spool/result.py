"""What one finished series produced, as handed to hooks and to the agent's `spool.stopped` event."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Why a series ended. Ending for one of these is normal; anything else (an error) makes the outcome "failed".
NORMAL_REASONS = ("requested", "max_frames", "end_of_source")
DISK_FULL = "disk_full"


@dataclass(frozen=True)
class SeriesResult:
    path: Path
    frames: int  # frames in /ImageData
    dropped: int  # frames the camera delivered that found no buffer (numbers in /Events FramesDropped)
    bytes_in: int  # raw bytes of the stored frames
    bytes_out: int  # bytes written for them (compressed)
    started: float  # epoch seconds
    ended: float
    reason: str  # requested | max_frames | end_of_source | disk_full | error
    error: str | None  # the operator-facing text when reason is disk_full or error
    complete: bool  # MetaData/Spool.Complete was written: every frame, event and metadata is on disk
    compression: str

    @property
    def outcome(self) -> str:
        return "ok" if self.reason in NORMAL_REASONS and self.complete else "failed"

    @property
    def ratio(self) -> float | None:
        return self.bytes_in / self.bytes_out if self.bytes_out else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path), "frames": self.frames, "dropped": self.dropped, "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out, "ratio": _round(self.ratio), "started": self.started,
            "ended": self.ended, "seconds": round(self.ended - self.started, 3), "reason": self.reason,
            "error": self.error, "complete": self.complete, "compression": self.compression,
            "outcome": self.outcome,
        }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
