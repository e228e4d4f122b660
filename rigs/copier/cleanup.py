"""Delete old local sessions, but only files the server is proven to hold (re-verified against the manifest)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rigs.copier.find import sessions_local
from rigs.copier.manifest import ManifestError, manifest_read
from rigs.copier.state import CopyState, DevicePaths, device_state
from rigs.copier.verify import verify
from rigs.layout import TRANSFER_FLAG, LayoutError, description_name, session_parse

log = logging.getLogger(__name__)


@dataclass
class CleanupResult:
    session: str
    deleted_files: int = 0
    deleted_bytes: int = 0
    kept: list[str] = field(default_factory=list)  # local files left in place, and why
    outcome: str = "skipped"  # deleted, skipped, failed
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sessions_cleanup(
    local_subjects: Path | str,
    *,
    remote_subjects: Path | str,
    tag: str,
    weeks: float,
    dry: bool = False,
    today: dt.date | None = None,
) -> list[CleanupResult]:
    """For local sessions older than `weeks`, delete the files listed in this device's manifest once the server
    copy has been re-hashed and matches; anything else (and anything that differs) stays."""
    cutoff = (today or dt.date.today()) - dt.timedelta(weeks=weeks)
    results = []
    for session in sessions_local(local_subjects):
        try:
            ref = session_parse(session)
        except LayoutError as exc:
            results.append(CleanupResult(str(session), reason=str(exc)))
            continue
        if ref.date < cutoff:
            results.append(session_cleanup(session, remote_subjects=remote_subjects, tag=tag, dry=dry))
    return results


def session_cleanup(session: Path, *, remote_subjects: Path | str, tag: str, dry: bool = False) -> CleanupResult:
    result = CleanupResult(str(session))
    paths = DevicePaths.of(remote_subjects, session_parse(session), tag)
    state = device_state(paths, remote_subjects=Path(remote_subjects))
    if (session / TRANSFER_FLAG).exists() or state.state is None or state.state < CopyState.COMPLETE:
        result.reason = f"not transferred yet ({state.message})"
        return result
    try:
        manifest = manifest_read(paths.manifest)
    except ManifestError as exc:
        result.reason = str(exc)
        return result
    report = verify(paths.session, tag=tag)
    if not report.ok:
        result.outcome = "failed"
        result.reason = "server copy does not match the manifest: " + ", ".join(f.path for f in report.bad)
        return result
    _delete_listed(session, manifest, result, dry)
    result.outcome = "deleted"
    return result


def _delete_listed(session: Path, manifest, result: CleanupResult, dry: bool) -> None:
    for entry in manifest.files:
        local = session.joinpath(*entry.path.split("/"))
        try:
            size = local.stat().st_size
        except FileNotFoundError:
            continue
        if size != entry.size:  # changed after the transfer: the server does not hold this version
            result.kept.append(f"{entry.path} (size differs from the transferred file)")
            continue
        if not dry:
            local.unlink()
        result.deleted_files += 1
        result.deleted_bytes += size
    if dry:
        return
    _prune(session, tag=manifest.tag)
    if session.exists():
        result.kept.extend(p.relative_to(session).as_posix() for p in sorted(session.rglob("*")) if p.is_file())


def _prune(session: Path, *, tag: str) -> None:
    """Remove emptied folders, and the session folder itself when only this device's description is left."""
    for folder in sorted((p for p in session.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    left = list(session.iterdir())
    if all(p.is_file() and p.name in (description_name(tag),) for p in left):
        for p in left:
            p.unlink()
        os.rmdir(session)
