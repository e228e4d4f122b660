"""Find local sessions: those flagged for transfer, and all of them (for clean-up)."""

from __future__ import annotations

import re
from pathlib import Path

from rigs.layout import TRANSFER_FLAG

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"\d{1,3}")


def sessions_local(local_subjects: Path | str, *, subject: str = "*", date: str = "*") -> list[Path]:
    """Every `subject/yyyy-mm-dd/N` folder under a subjects folder, filtered by glob patterns, sorted.

    Subjects with a bad name (a dot) are listed too, so that their transfer fails with a clear error
    instead of being skipped without a word.
    """
    found = []
    for path in Path(local_subjects).glob(f"{subject}/{date}/*"):
        if path.is_dir() and _NUMBER.fullmatch(path.name) and _DATE.fullmatch(path.parent.name):
            found.append(path)
    return sorted(found)


def sessions_flagged(local_subjects: Path | str, *, subject: str = "*", date: str = "*") -> list[Path]:
    """Sessions holding a `transfer_me.flag` (the acquisition is over and the data wait for the server)."""
    return [p for p in sessions_local(local_subjects, subject=subject, date=date) if (p / TRANSFER_FLAG).is_file()]
