"""One device's transfer of a session to the server, from registration to finalize, as a JSON-able record."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rigs.copier.description import DescriptionError, description_local_path, description_read
from rigs.copier.engine import CopyEngine, CopyFailed
from rigs.copier.fileio import tmp_path
from rigs.copier.hashes import DEFAULT_ALGORITHM
from rigs.copier.journal import FileRecord, Journal
from rigs.copier.lock import TransferBusy, transfer_lock
from rigs.copier.manifest import Manifest, ManifestEntry, ManifestError, manifest_read, manifest_write
from rigs.copier.pacing import PacedProgress, RatePacer
from rigs.copier.plan import SessionPlan, session_plan
from rigs.copier.progress import ProgressCallback, ProgressTracker
from rigs.copier.session import RemoteError, session_finalize, session_initialize
from rigs.copier.state import CopyState, DevicePaths, StateReport, device_state, status_set
from rigs.layout import TRANSFER_FLAG, LayoutError, session_parse

log = logging.getLogger(__name__)

OUTCOMES = ("complete", "finalized", "failed", "dry")


@dataclass
class TransferResult:
    """What the agent reports and the dashboard stores for one device's transfer of one session."""

    tag: str
    session: str  # subject/yyyy-mm-dd/NNN
    exp_ref: str
    source: str
    destination: str
    files: int = 0  # files of this device in the session (copied now or verified earlier)
    bytes: int = 0
    files_copied: int = 0  # copied in this run
    bytes_copied: int = 0
    hash_algorithm: str = DEFAULT_ALGORITHM
    manifest: str | None = None
    verified: bool = False  # every file in the manifest was verified when copied
    outcome: str = "failed"  # complete (this device's copy is in), finalized (and this run finalized), failed, dry
    error: str | None = None
    state_before: int | None = None
    state_after: int | None = None
    message: str = ""  # the state or finalize explanation, for operators
    start: str = ""
    end: str = ""
    seconds: float = 0.0
    # Every file of this device now on the server (path, size, hash): what the manifest lists. Not in to_dict():
    # the agent sends it to the dashboard in chunks of its own.
    entries: list[ManifestEntry] = field(default_factory=list, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "entries"}


def transfer(
    session_dir: Path | str,
    *,
    remote_subjects: Path | str,
    tag: str,
    expected_devices: int | None = None,
    dry: bool = False,
    progress: ProgressCallback | None = None,
    engine: CopyEngine | None = None,
    max_rate: float | None = None,
    lock_wait: float = 10.0,
) -> TransferResult:
    """Copy one device's share of a session to the server and finalize the session if it is the last one.

    Never raises for a session problem: the result's `outcome` is "failed" and `error` says why. Local data and
    the server state are left unchanged by a failure, except for files already verified (kept for the resume).
    A session already finalized is left exactly as it is on the server: the result says so and succeeds.
    `max_rate` (bytes/s) holds the copy to a bandwidth cap. Another transfer of the same session and device is
    waited for `lock_wait` seconds, then this one fails saying who holds it.
    """
    session_dir, remote_subjects, engine = Path(session_dir), Path(remote_subjects), engine or CopyEngine()
    clock = time.monotonic()
    result = TransferResult(tag=tag, session=str(session_dir), exp_ref="", source=str(session_dir), destination="")
    result.hash_algorithm, result.start = engine.algorithm, _now()
    paths = None
    try:
        ref = session_parse(session_dir)
        paths = DevicePaths.of(remote_subjects, ref, tag)
        result.session, result.exp_ref = ref.relative_path().as_posix(), ref.exp_ref
        result.destination = str(paths.session)
        # One transfer of this session and device at a time (the agent's copier, the command line, a schedule):
        # a second one waits a little for the first, then is refused naming it. A dry run writes nothing, not
        # even the lock.
        with contextlib.nullcontext() if dry else transfer_lock(session_dir, tag, wait=lock_wait):
            _run(session_dir, paths, remote_subjects, expected_devices, dry, progress, engine, max_rate, result)
    except TransferBusy as busy:
        result.outcome, result.error = "failed", str(busy)
    except (LayoutError, DescriptionError, RemoteError, CopyFailed, OSError) as exc:
        result.outcome, result.error = "failed", _unreachable(paths, remote_subjects) or str(exc)
        if result.error != str(exc):
            result.error += f" ({exc})"
    except Exception as exc:  # noqa: BLE001 - one session's surprise must not stop the agent or other sessions
        log.exception("transfer of %s failed", session_dir)
        result.outcome, result.error = "failed", f"{type(exc).__name__}: {exc}"
    if paths is not None and result.state_before is not None and result.state_after is None:
        result.state_after = _int(_state(paths, remote_subjects).state)
    result.end, result.seconds = _now(), round(time.monotonic() - clock, 3)
    return result


def transfer_all(
    sessions: list[Path], *, remote_subjects: Path | str, tag: str, **options: Any
) -> list[TransferResult]:
    """Transfer sessions one after the other; a failed session never stops the next one."""
    return [transfer(session, remote_subjects=remote_subjects, tag=tag, **options) for session in sessions]


def _run(session_dir, paths: DevicePaths, remote_subjects: Path, expected, dry, progress, engine, max_rate,
         result) -> None:
    before = _state(paths, remote_subjects)
    result.state_before, result.message = _int(before.state), before.message
    if before.state is None:
        raise RemoteError(before.message)
    if before.state == CopyState.FINALIZED and not dry:
        _already_finalized(session_dir, paths, result)
        return
    if description_local_path(session_dir, paths.tag) is None and before.state < CopyState.COMPLETE:
        raise DescriptionError(f"{session_dir}: no description for device {paths.tag!r} (nor an untagged one)")
    if dry:
        _plan_only(session_dir, paths, engine, result)
        result.outcome, result.state_after = "dry", result.state_before
        return
    if before.state == CopyState.NOT_REGISTERED:
        session_initialize(session_dir, remote_subjects=remote_subjects, tag=paths.tag)
    if before.state <= CopyState.PENDING:
        _copy(session_dir, paths, engine, progress, max_rate, result)
    else:
        _from_manifest(paths, result)
    session_dir.joinpath(TRANSFER_FLAG).unlink(missing_ok=True)  # the copy is complete: never before
    _finalize(paths, remote_subjects, expected, result)


def _plan(session_dir: Path, paths: DevicePaths, engine: CopyEngine) -> tuple[SessionPlan, Journal]:
    description = description_read(description_local_path(session_dir, paths.tag))
    journal = Journal(paths.journal)
    journaled, checkpoints = journal.load()
    plan = session_plan(
        session_dir, paths.session, description, journaled=journaled, checkpoints=checkpoints, algorithm=engine.algorithm
    )
    return plan, journal


def _plan_only(session_dir: Path, paths: DevicePaths, engine: CopyEngine, result: TransferResult) -> None:
    plan, _ = _plan(session_dir, paths, engine)
    result.files, result.bytes = plan.files, plan.bytes
    result.files_copied, result.bytes_copied = len(plan.jobs), plan.bytes_to_copy  # would be copied
    if plan.errors:
        raise DescriptionError("; ".join(plan.errors))


def _already_finalized(session_dir: Path, paths: DevicePaths, result: TransferResult) -> None:
    """Every device is in and the server registered the session: writing anything there (a status, the
    aggregate, raw_session.flag) would make the server pipeline run again. The copy is complete; this run
    finalized nothing."""
    _from_manifest(paths, result)
    result.outcome, result.state_after = "complete", int(CopyState.FINALIZED)
    result.message = f"already finalized: {paths.status(CopyState.FINALIZED).name}; nothing written on the server"
    session_dir.joinpath(TRANSFER_FLAG).unlink(missing_ok=True)


def _from_manifest(paths: DevicePaths, result: TransferResult) -> None:
    """What an earlier run put on the server, from its manifest (for a device already complete or final)."""
    try:
        manifest = manifest_read(paths.manifest)
    except (ManifestError, OSError):
        result.manifest, result.verified = None, False
        return
    result.manifest, result.verified = str(paths.manifest), True
    result.entries = list(manifest.files)
    result.files, result.bytes = len(manifest.files), manifest.total_bytes


def _copy(session_dir: Path, paths: DevicePaths, engine: CopyEngine, progress, max_rate: float | None,
          result: TransferResult) -> None:
    plan, journal = _plan(session_dir, paths, engine)
    result.files, result.bytes = plan.files, plan.bytes
    if plan.errors:
        raise DescriptionError("; ".join(plan.errors))
    tracker = ProgressTracker(progress, exp_ref=paths.exp_ref, bytes_total=plan.bytes_to_copy, files_total=len(plan.jobs))
    counted = PacedProgress(tracker, RatePacer(max_rate, engine.cancel)) if max_rate else tracker
    written_before = engine.bytes_written
    try:
        copied = engine.copy(plan.jobs, journal=journal, progress=counted)
    except CopyFailed as exc:
        result.files_copied = len(exc.done)
        raise
    finally:
        result.bytes_copied = engine.bytes_written - written_before
        tracker.finish()
    result.files_copied = len(copied)
    records = sorted(plan.verified + copied, key=lambda r: r.path)
    result.manifest = str(_manifest_write(paths, session_dir, records, engine.algorithm))
    result.entries = [ManifestEntry(r.path, r.size, r.hash) for r in records]
    result.verified = True
    status_set(paths, CopyState.COMPLETE)
    journal.remove()
    _tmp_sweep(paths.session, records)


def _manifest_write(paths: DevicePaths, session_dir: Path, records: list[FileRecord], algorithm: str) -> Path:
    manifest = Manifest(
        exp_ref=paths.exp_ref,
        tag=paths.tag,
        algorithm=algorithm,
        source=str(session_dir),
        created=_now(),
        files=[ManifestEntry(r.path, r.size, r.hash) for r in records],
    )
    return manifest_write(paths.manifest, manifest)


def _tmp_sweep(remote_session: Path, records: list[FileRecord]) -> None:
    """Remove temporary files left by killed runs for this device's files, now copied whole. Only its own: other
    devices copy into the same collections (three cameras into raw_video_data) at the same time."""
    for record in records:
        tmp_path(remote_session.joinpath(*record.path.split("/"))).unlink(missing_ok=True)


def _finalize(paths: DevicePaths, remote_subjects: Path, expected: int | None, result: TransferResult) -> None:
    report = session_finalize(paths.session, expected_devices=expected)
    result.message = report.message
    result.state_after = _int(_state(paths, remote_subjects).state)
    # "finalized" only for the run that finalized: another device may have done it a moment before.
    result.outcome = "finalized" if report.finalized else "complete"


def _unreachable(paths: DevicePaths | None, remote_subjects: Path) -> str | None:
    """Why a failure happened when the share vanished under the copy (unmounted, renamed, network down)."""
    try:
        if paths is None or paths.session.is_dir():
            return None
    except OSError:
        pass
    return f"server share unreachable: {paths.session} is gone (is {remote_subjects} still mounted?)"


def _state(paths: DevicePaths, remote_subjects: Path) -> StateReport:
    return device_state(paths, remote_subjects=Path(remote_subjects))


def _int(state: CopyState | None) -> int | None:
    return None if state is None else int(state)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
