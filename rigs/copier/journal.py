"""The resume journal: one JSON line per file verified on the server (and per checkpoint of a large file).

It sits beside the device stub as `<exp_ref>@<tag>.journal.jsonl` (never `.yaml`: iblrig merges every yaml in
`_devices/`). A run killed at any point leaves at worst a torn last line, which is ignored; the next run trusts
a line only if the source file and the server file still have the sizes and times it records.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileRecord:
    """A file copied and verified on the server."""

    path: str  # relative to the session folder, '/'-separated
    size: int
    hash: str
    algorithm: str
    src_mtime_ns: int
    dst_mtime_ns: int


@dataclass(frozen=True)
class Checkpoint:
    """The first `offset` bytes of a large file are in its temporary file on the server, fsynced."""

    path: str
    tmp: str  # temporary file name in the destination folder
    offset: int
    prefix_hash: str  # hash of source bytes [0, offset)
    algorithm: str
    src_size: int
    src_mtime_ns: int


class Journal:
    """Append-only, fsynced after every append; safe to share between copy threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._tail_checked = False

    def load(self) -> tuple[dict[str, FileRecord], dict[str, Checkpoint]]:
        """Latest record per file and latest checkpoint per file still in progress."""
        files: dict[str, FileRecord] = {}
        checkpoints: dict[str, Checkpoint] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return files, checkpoints
        for line in lines:
            try:
                record = json.loads(line)
                kind = record.pop("kind")
                if kind == "file":
                    files[record["path"]] = FileRecord(**record)
                    checkpoints.pop(record["path"], None)
                elif kind == "checkpoint":
                    checkpoints[record["path"]] = Checkpoint(**record)
            except (ValueError, TypeError, KeyError):
                continue  # a torn line from a killed run
        return files, checkpoints

    def append(self, records: list[FileRecord | Checkpoint]) -> None:
        if not records:
            return
        text = "".join(json.dumps({"kind": _kind(r), **vars(r)}) + "\n" for r in records)  # flat: no asdict
        with self._lock:
            self.path.parent.mkdir(exist_ok=True)  # not its parents: a vanished share must not be re-created
            if not self._tail_checked:
                text = self._torn_tail_fix() + text
                self._tail_checked = True
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())

    def _torn_tail_fix(self) -> str:
        # A killed run may have left half a line: start ours on a fresh line so it stays readable.
        try:
            with open(self.path, "rb") as fh:
                fh.seek(-1, os.SEEK_END)
                return "" if fh.read(1) == b"\n" else "\n"
        except OSError:  # missing or empty
            return ""

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _kind(record: FileRecord | Checkpoint) -> str:
    return "file" if isinstance(record, FileRecord) else "checkpoint"
