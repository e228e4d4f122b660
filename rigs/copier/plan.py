"""What a device's transfer has to copy: the files of its collections and snapshots, minus what is verified.

Reading only: planning never writes, locally or on the server, so `--dry` is a plan and nothing more.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigs.copier.description import description_collections
from rigs.copier.engine import CopyJob
from rigs.copier.fileio import TMP_SUFFIX
from rigs.copier.hashes import DEFAULT_ALGORITHM
from rigs.copier.journal import Checkpoint, FileRecord
from rigs.layout import SNAPSHOTS_DIR, TRANSFER_FLAG

_Found = tuple[Path, os.stat_result]  # a source file and its stat, taken once while listing


@dataclass
class SessionPlan:
    jobs: list[CopyJob] = field(default_factory=list)  # to copy in this run
    verified: list[FileRecord] = field(default_factory=list)  # already on the server, verified by an earlier run
    errors: list[str] = field(default_factory=list)  # why the copy must not start (nothing is written then)

    @property
    def files(self) -> int:
        return len(self.jobs) + len(self.verified)

    @property
    def bytes(self) -> int:
        return sum(j.size for j in self.jobs) + sum(r.size for r in self.verified)

    @property
    def bytes_to_copy(self) -> int:
        return sum(j.size for j in self.jobs)


def session_plan(
    session_dir: Path,
    remote_session: Path,
    description: dict[str, Any],
    *,
    journaled: dict[str, FileRecord] | None = None,
    checkpoints: dict[str, Checkpoint] | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
) -> SessionPlan:
    """List the device's files and decide, by stat only, which ones an earlier run already verified."""
    journaled, checkpoints = journaled or {}, checkpoints or {}
    plan = SessionPlan()
    sources = _collection_files(session_dir, description, plan.errors)
    sources.update(_snapshot_files(session_dir, remote_session, journaled, plan.errors))
    for rel in sorted(sources):
        source, stat = sources[rel]
        dest = remote_session.joinpath(*rel.split("/"))
        record = journaled.get(rel)
        if record and _still_valid(record, stat, dest, algorithm):
            plan.verified.append(record)
        else:
            plan.jobs.append(CopyJob(source, dest, rel, stat.st_size, checkpoints.get(rel)))
    return plan


def _collection_files(session_dir: Path, description: dict[str, Any], errors: list[str]) -> dict[str, _Found]:
    files: dict[str, _Found] = {}
    collections = description_collections(description)
    if not collections:
        errors.append("the description names no collection: nothing to copy")
    for pattern in collections:
        folders = sorted(p for p in session_dir.glob(pattern) if p.is_dir())
        if not folders:
            errors.append(f"no folder matches collection {pattern!r} in {session_dir}")
        for folder in folders:
            files.update(_files_under(folder, session_dir))
    return files


def _snapshot_files(
    session_dir: Path, remote_session: Path, journaled: dict[str, FileRecord], errors: list[str]
) -> dict[str, _Found]:
    """Snapshots are added to by several PCs: a name already on the server (not put there by us) is a clash."""
    local = session_dir / SNAPSHOTS_DIR
    if not local.is_dir():
        return {}
    files = _files_under(local, session_dir)
    clashes = [rel for rel in files if rel not in journaled and remote_session.joinpath(*rel.split("/")).exists()]
    if clashes:
        errors.append(f"snapshot(s) already on the server, not overwriting: {', '.join(sorted(clashes))}")
    return files


def _files_under(folder: Path, session_dir: Path) -> dict[str, _Found]:
    """Every file below `folder` (symlinked folders are not entered, as with rglob) with its stat: one stat
    call per file, since a session can hold thousands of small files."""
    files: dict[str, _Found] = {}
    prefix = folder.relative_to(session_dir).as_posix()
    todo = [(folder, "" if prefix == "." else prefix + "/")]
    while todo:
        path, rel = todo.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    todo.append((Path(entry.path), f"{rel}{entry.name}/"))
                elif entry.is_file() and entry.name != TRANSFER_FLAG and not entry.name.endswith(TMP_SUFFIX):
                    files[rel + entry.name] = (Path(entry.path), _stat(entry))
    return files


def _stat(entry: os.DirEntry) -> os.stat_result:
    # Windows answers DirEntry.stat() from the folder listing, whose times can lag behind the file's own.
    return os.stat(entry.path) if os.name == "nt" else entry.stat()


def _still_valid(record: FileRecord, stat, dest: Path, algorithm: str) -> bool:
    """The journal line still describes both ends: same source size and time, same server size and time."""
    if record.algorithm != algorithm or (record.size, record.src_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
        return False
    try:
        dst = dest.stat()
    except OSError:
        return False
    return (dst.st_size, dst.st_mtime_ns) == (record.size, record.dst_mtime_ns)
