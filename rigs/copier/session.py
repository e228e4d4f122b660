"""Register a device in a server session (initialize) and merge all devices once the last one is in (finalize)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigs.copier.description import (
    DescriptionError,
    description_local_path,
    description_merge,
    description_read,
    description_write,
)
from rigs.copier.state import STATUS_SUFFIXES, CopyState, DevicePaths, StateReport, device_state, status_set
from rigs.layout import DESCRIPTION_FILE, DEVICES_DIR, RAW_SESSION_FLAG, description_name, session_parse

log = logging.getLogger(__name__)

FINALIZE_LOCK = ".finalizing"
FINALIZE_LOCK_STALE = 600.0  # seconds: far longer than merging a few stubs takes


class RemoteError(OSError):
    """The server share cannot be reached or written; nothing on the rig was changed because of it."""


def session_initialize(
    session_dir: Path | str,
    *,
    remote_subjects: Path | str,
    tag: str,
    description: dict[str, Any] | None = None,
) -> StateReport:
    """Register this device for a session: local description with the rig's tag, remote stub, state 1 pending.

    Call it when acquisition starts (EXPINIT, spool start), so an iblrig rig finalizing early counts this device.
    With `description` None the device's existing local description is used. The local file is written first:
    acquisition goes on when the server is down (RemoteError is raised then, and a later transfer registers).
    A device already complete or finalized is left as it is.
    """
    session_dir = Path(session_dir)
    paths = DevicePaths.of(remote_subjects, session_parse(session_dir), tag)
    description = description_local_ensure(session_dir, tag, description)
    report = device_state(paths, remote_subjects=Path(remote_subjects))
    if report.state is None:
        raise RemoteError(report.message)
    if report.state >= CopyState.COMPLETE:
        log.warning("%s already %s; not registering again", paths.stub.name, report.state.name.lower())
        return report
    try:
        description_write(paths.stub, description)
        status_set(paths, CopyState.PENDING)
    except OSError as exc:
        raise RemoteError(f"cannot register {paths.stub}: {exc}") from exc
    return device_state(paths, remote_subjects=Path(remote_subjects))


def description_local_ensure(session_dir: Path, tag: str, description: dict[str, Any] | None) -> dict[str, Any]:
    """Write (or read) the device's tagged local description and return it."""
    tagged = session_dir / description_name(tag)
    if description is None:
        existing = description_local_path(session_dir, tag)
        if existing is None:
            raise DescriptionError(f"{session_dir}: no {tagged.name} (nor {DESCRIPTION_FILE}) to register")
        description = description_read(existing)
    description = {**description, "version": description.get("version", "1.0.0")}
    if not tagged.exists() or description_read(tagged) != description:
        description_write(tagged, description)
    return description


@dataclass(frozen=True)
class FinalizeReport:
    finalized: bool
    message: str
    registered: int  # stubs in _devices
    complete: int  # of which complete (or already final)
    expected: int


def session_finalize(remote_session: Path | str, *, expected_devices: int | None = None) -> FinalizeReport:
    """Merge every device stub into the session description once all expected devices are complete.

    With `expected_devices` None the stubs present are counted (what iblrig does). Nothing is written unless
    every registered device is complete and their number is the expected one; `raw_session.flag` comes last.
    A session whose devices are all final already is left untouched: the server's job creator deleted the flag
    when it registered the session, and writing it again would run the pipeline twice. Two devices completing
    at once cannot both finalize: the first takes the session's finalize lock, the second then finds it final.
    A conflicting `sync` raises SyncConflictError before anything is written.
    """
    remote_session = Path(remote_session)
    with _finalize_lock(remote_session / DEVICES_DIR) as held:
        if not held:
            return FinalizeReport(False, "another device is finalizing this session right now", 0, 0, 0)
        return _finalize(remote_session, expected_devices)


def _finalize(remote_session: Path, expected_devices: int | None) -> FinalizeReport:
    stubs = sorted(remote_session.joinpath(DEVICES_DIR).glob("*.yaml"))
    states = {stub: _stub_state(stub) for stub in stubs}
    expected = expected_devices or len(stubs)
    done = sum(state >= CopyState.COMPLETE for state in states.values())
    report = FinalizeReport(False, "", len(stubs), done, expected)
    if not stubs:
        return _with(report, f"{remote_session}: no device registered")
    if all(state == CopyState.FINALIZED for state in states.values()):
        return _with(report, f"already finalized ({len(stubs)} devices); nothing written")
    if len(stubs) > expected:
        names = ", ".join(s.name for s in stubs)
        return _with(report, f"{len(stubs)} devices registered but {expected} expected ({names}); not finalizing")
    if done < expected:
        waiting = [s.name for s, st in states.items() if st < CopyState.COMPLETE]
        return _with(report, f"{done}/{expected} devices complete; waiting for {', '.join(waiting) or 'unregistered devices'}")
    aggregate = remote_session / DESCRIPTION_FILE
    base = description_read(aggregate) if aggregate.exists() else None
    merged = description_merge(((s.name, description_read(s)) for s in stubs), base=base)
    description_write(aggregate, merged)
    for stub in stubs:
        status_set(DevicePaths(remote_session, *stub.stem.split("@", 1)), CopyState.FINALIZED)
    _touch_durably(remote_session / RAW_SESSION_FLAG)
    return FinalizeReport(True, f"finalized {len(stubs)} devices into {aggregate.name}", len(stubs), done, expected)


@contextlib.contextmanager
def _finalize_lock(devices: Path) -> Iterator[bool]:
    """Hold `_devices/.finalizing` (never a .yaml: iblrig counts those) while finalizing; False if another device
    holds it. A lock older than FINALIZE_LOCK_STALE is left by a killed run and is taken over."""
    lock = devices / FINALIZE_LOCK
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                stale = time.time() - lock.stat().st_mtime > FINALIZE_LOCK_STALE
            except FileNotFoundError:
                continue  # released meanwhile: try again
            if not stale:
                yield False
                return
            log.warning("%s: taking over a finalize lock left by a killed run", lock)
            lock.unlink(missing_ok=True)
            continue
        os.close(fd)
        try:
            yield True
        finally:
            lock.unlink(missing_ok=True)
        return
    yield False


def _stub_state(stub: Path) -> CopyState:
    for state in sorted(STATUS_SUFFIXES, reverse=True):
        if stub.with_suffix(STATUS_SUFFIXES[state]).exists():
            return state
    return CopyState.PENDING


def _with(report: FinalizeReport, message: str) -> FinalizeReport:
    return FinalizeReport(report.finalized, message, report.registered, report.complete, report.expected)


def _touch_durably(path: Path) -> None:
    with open(path, "wb") as fh:
        os.fsync(fh.fileno())
