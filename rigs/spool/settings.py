"""The settings of one spool series, as labs know them from PYME's SpoolController, checked on the way in."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from rigs.layout import LayoutError, exp_ref_check
from rigs.spool.codecs import canonical_name

PREFLIGHT_MODES = ("abort", "warn", "skip")
AXIS_ORDERS = ("numpy", "pyme")
MAX_FLUSH_INTERVAL_S = 2.0  # DESIGN 4.3: data older than this must survive kill -9


@dataclass(frozen=True)
class SpoolSettings:
    """What to write where. Patterns take %-style date keys (see naming.py); unknown keys are refused.

    directory / subdirectory: folder patterns, e.g. "D:/data/%(year)04d-%(month)02d-%(day)02d".
    series_pattern: file name pattern without ".h5"; a counter is appended when the name exists.
    compression: none | blosc-lz4 | blosc-lz4-bitshuffle | blosc-zstd | gzip (gzip is too slow for live rates).
    max_frames: stop after this many frames written (None: until stop()).
    metadata: extra /MetaData entries, dotted keys ("Sample.Name": "...").
    preflight: abort | warn | skip when the estimate does not fit in free space.
    preflight_seconds: series length assumed by the preflight when max_frames is None.
    expected_ratio: compression ratio assumed by the preflight (1.0: assume none, the safe guess).
    reserve_mb: stop cleanly when free space would drop below this.
    swmr: let h5py readers open the file while it is written (PyTables/PYME cannot until it closes).
    buffer_mb: memory for frames between camera and disk (ring of raw frames + compressed queue).
    workers: compression threads.
    flush_interval_s: HDF5 flush period (<= 2 s): what a kill -9 can lose at most.
    sync_every_mb: rolling fdatasync + drop from page cache after this much data.
    axis_order: "numpy" stores (frames, height, width); "pyme" (frames, width, height), PYME's own order.
    """

    directory: str
    subdirectory: str = ""
    series_pattern: str = "%(year)04d-%(month)02d-%(day)02d_series"
    compression: str = "blosc-lz4"
    max_frames: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    preflight: str = "abort"
    preflight_seconds: float = 60.0
    expected_ratio: float = 1.0
    reserve_mb: float = 256.0
    swmr: bool = False
    buffer_mb: float = 1024.0
    workers: int = 2
    flush_interval_s: float = 1.0
    sync_every_mb: float = 64.0
    axis_order: str = "numpy"
    exp_ref: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "compression", canonical_name(self.compression))
        object.__setattr__(self, "metadata", dict(self.metadata))
        _check(self.preflight in PREFLIGHT_MODES, f"preflight must be one of {PREFLIGHT_MODES}")
        _check(self.axis_order in AXIS_ORDERS, f"axis_order must be one of {AXIS_ORDERS}")
        _check(self.max_frames is None or self.max_frames > 0, "max_frames must be positive or None")
        _check(0 < self.flush_interval_s <= MAX_FLUSH_INTERVAL_S, "flush_interval_s must be in (0, 2]")
        _check(self.workers >= 1, "workers must be >= 1")
        _check(self.buffer_mb > 0 and self.reserve_mb >= 0, "buffer_mb must be > 0 and reserve_mb >= 0")
        _check(self.expected_ratio >= 1.0, "expected_ratio must be >= 1")
        _check(bool(str(self.directory)), "directory is required")
        validate_subdirectory(self.subdirectory)
        if self.exp_ref is not None:
            try:
                exp_ref_check(self.exp_ref)
            except LayoutError as exc:
                raise ValueError(f"exp_ref: {exc}") from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SpoolSettings:
        """Build from a plain dict (command params, YAML); an unknown key is an error that names it."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown spool setting(s): {', '.join(unknown)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def validate_subdirectory(subdirectory: Any) -> str:
    """Return `subdirectory` if it stays inside the series directory, else raise ValueError saying why.

    An operator sets it from the dashboard: it must be relative, on Windows too (no drive, no leading slash or
    backslash), and hold no `..` part, so a series can never be written outside the rig's data folder.
    Checked on the pattern and again on the expanded name (naming.series_folder).
    """
    if not isinstance(subdirectory, str):
        raise ValueError(f"subdirectory must be text, not {type(subdirectory).__name__}")
    if not subdirectory:
        return subdirectory
    if "\x00" in subdirectory or len(subdirectory) > 255:
        raise ValueError("subdirectory must be at most 255 characters, without NUL")
    windows = PureWindowsPath(subdirectory)
    if (PurePosixPath(subdirectory).is_absolute() or windows.is_absolute() or windows.drive or windows.root
            or ":" in subdirectory):
        raise ValueError(f"subdirectory {subdirectory!r} must be a relative path inside the series directory")
    if any(part == ".." for part in windows.parts):  # Windows parts split on both / and \\
        raise ValueError(f"subdirectory {subdirectory!r} must not contain '..'")
    return subdirectory


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
