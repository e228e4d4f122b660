"""A device's copy state on the lab server (0-3, None when unreachable), read without writing anything."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

from rigs.layout import DEVICES_DIR, SessionRef, device_file_stem, session_parse, tag_check


class CopyState(enum.IntEnum):
    """iblrig's numbering, so the dashboard and iblrig agree on what a number means."""

    NOT_REGISTERED = 0
    PENDING = 1
    COMPLETE = 2
    FINALIZED = 3


STATUS_SUFFIXES = {
    CopyState.PENDING: ".status_pending",
    CopyState.COMPLETE: ".status_complete",
    CopyState.FINALIZED: ".status_final",
}


@dataclass(frozen=True)
class DevicePaths:
    """Where one device's files for one session live on the server."""

    session: Path  # remote session folder, number zero-padded
    exp_ref: str
    tag: str

    @classmethod
    def of(cls, remote_subjects: Path | str, ref: SessionRef, tag: str) -> DevicePaths:
        return cls(session=ref.path_under(remote_subjects), exp_ref=ref.exp_ref, tag=tag_check(tag))

    @property
    def devices(self) -> Path:
        return self.session / DEVICES_DIR

    @property
    def stem(self) -> str:
        return device_file_stem(self.exp_ref, self.tag)

    @property
    def stub(self) -> Path:
        return self.devices / f"{self.stem}.yaml"

    @property
    def manifest(self) -> Path:
        return self.devices / f"{self.stem}.manifest.json"

    @property
    def journal(self) -> Path:
        return self.devices / f"{self.stem}.journal.jsonl"

    def status(self, state: CopyState) -> Path:
        return self.devices / f"{self.stem}{STATUS_SUFFIXES[state]}"


@dataclass(frozen=True)
class StateReport:
    """A state and the sentence that explains it (shown to operators as is)."""

    state: CopyState | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"state": None if self.state is None else int(self.state), "message": self.message}


def session_state(session: Path | str | SessionRef, *, remote_subjects: Path | str, tag: str) -> StateReport:
    """Read a device's copy state for a session from the server; never creates, touches or renames anything."""
    ref = session if isinstance(session, SessionRef) else session_parse(session)
    paths = DevicePaths.of(remote_subjects, ref, tag)
    return device_state(paths, remote_subjects=Path(remote_subjects))


def device_state(paths: DevicePaths, *, remote_subjects: Path) -> StateReport:
    """Like `session_state`, from already-resolved paths."""
    try:
        if not remote_subjects.is_dir():
            return StateReport(None, f"remote subjects folder {remote_subjects} is unreachable or not a folder")
        if not paths.stub.is_file():
            return StateReport(CopyState.NOT_REGISTERED, f"not registered: {paths.stub} does not exist")
        present = [state for state in STATUS_SUFFIXES if paths.status(state).exists()]
    except OSError as exc:  # a share that vanished between two calls
        return StateReport(None, f"remote {remote_subjects} is unreachable: {exc}")
    if not present:
        # iblrig creates the missing pending file here; reading must not write, and pending is what it means.
        return StateReport(CopyState.PENDING, f"pending (stub {paths.stub.name} has no status file yet)")
    state = max(present)
    note = "" if len(present) == 1 else f" (also found {', '.join(STATUS_SUFFIXES[s] for s in present if s != state)})"
    return StateReport(state, f"{state.name.lower()}: {paths.status(state).name}{note}")


def status_set(paths: DevicePaths, state: CopyState) -> Path:
    """Leave exactly one status file beside the stub, for `state`; a rename when one exists, so never zero."""
    target = paths.status(state)
    others = [paths.status(s) for s in STATUS_SUFFIXES if s != state and paths.status(s).exists()]
    if others and not target.exists():
        os.replace(others.pop(0), target)
    elif not target.exists():
        target.touch()
    for extra in others:
        extra.unlink(missing_ok=True)
    return target
