"""Series names from PYME-style patterns with date keys; a name is never reused and a file never overwritten."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

SUFFIX = ".h5"


def name_keys(when: dt.datetime, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keys a pattern may use: year month day hour minute second (ints, pad them in the pattern: %(month)02d),
    date (yyyymmdd), time (hhmmss), counter (int), plus `extra` (e.g. rig, exp_ref)."""
    keys: dict[str, Any] = {
        "year": when.year, "month": when.month, "day": when.day,
        "hour": when.hour, "minute": when.minute, "second": when.second,
        "date": when.strftime("%Y%m%d"), "time": when.strftime("%H%M%S"), "counter": 0,
    }
    keys.update(extra or {})
    return keys


def expand(pattern: str, keys: Mapping[str, Any]) -> str:
    """Apply %-style keys; an unknown key is an error that names it."""
    try:
        return pattern % keys
    except KeyError as exc:
        raise ValueError(f"unknown key {exc} in pattern {pattern!r}; known: {', '.join(sorted(keys))}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad pattern {pattern!r}: {exc}") from None


def series_folder(directory: str, subdirectory: str, keys: Mapping[str, Any]) -> Path:
    """The folder of a series: the directory, and the subdirectory inside it (never outside, once expanded)."""
    from rigs.spool.settings import validate_subdirectory

    folder = Path(expand(str(directory), keys))
    return folder / validate_subdirectory(expand(subdirectory, keys)) if subdirectory else folder


def candidate_paths(folder: Path, pattern: str, keys: Mapping[str, Any]) -> Iterator[Path]:
    """Series file names to try in order, skipping every name that already exists in any form.

    With `%(counter)` in the pattern the counter runs 0, 1, 2...; otherwise the bare name comes first and
    then `_001`, `_002`... The caller still creates the file exclusively: a name can appear between the check
    and the creation (another spooler on the same folder).
    """
    has_counter = "%(counter)" in pattern
    for counter in itertools.count():
        stem = expand(pattern, {**keys, "counter": counter})
        if not has_counter and counter:
            stem = f"{stem}_{counter:03d}"
        _check_stem(stem)
        path = folder / f"{stem}{SUFFIX}"
        if not _taken(path):
            yield path


def _taken(path: Path) -> bool:
    # A mirror hook or a crashed series may have left siblings of the same stem: never reuse the stem.
    return path.exists() or any(path.parent.glob(f"{_glob_escape(path.stem)}.*"))


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _check_stem(stem: str) -> None:
    if not stem or stem in (".", "..") or any(c in stem for c in '/\\:\x00'):
        raise ValueError(f"series name {stem!r} is not a plain file name")
