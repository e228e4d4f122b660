"""One transfer of a session's device at a time: a lock file in the local session folder, held by the OS.

Two transfers of the same session (the agent's copier and `labweb-rig transfer`, or two commands at once) wrote
the same temporary files and journal and both failed. With this lock the second waits for the first (up to
`wait` seconds) or is refused with a message naming the holder; the first is never disturbed.

The lock is the operating system's (flock on POSIX, msvcrt.locking on Windows), so a killed transfer never leaves
a stale lock: the OS drops it with the process. The file itself is hidden and lives in the session's root, which
the copier never copies (it copies collection folders and snapshots only).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_S = 0.2


class TransferBusy(RuntimeError):
    """Another transfer of this session and device is running; the text says who holds it, for operators."""

    def __init__(self, message: str, holder: dict | None = None) -> None:
        super().__init__(message)
        self.holder = holder or {}


def lock_path(session_dir: Path, tag: str) -> Path:
    return Path(session_dir) / f".labweb-transfer@{tag}.lock"


@contextmanager
def transfer_lock(session_dir: Path | str, tag: str, *, wait: float = 0.0) -> Iterator[Path]:
    """Hold the transfer lock of (session, tag) for the `with` block.

    Waits up to `wait` seconds for another holder, then raises TransferBusy. Raises OSError if the session
    folder cannot hold the lock file (e.g. it does not exist).
    """
    path = lock_path(Path(session_dir), tag)
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        if _try_lock(fd):
            if _same_file(path, fd):
                break
            _unlock(fd)  # the holder before us removed this file as we opened it: take the new one
            os.close(fd)
            continue
        holder = _read_holder(fd)
        os.close(fd)
        if time.monotonic() >= deadline:
            raise TransferBusy(_busy_message(session_dir, tag, holder, wait), holder)
        time.sleep(POLL_S)
    try:
        _write_holder(fd, tag)
        yield path
    finally:
        if sys.platform != "win32":  # Windows cannot remove a file that is open; the empty file stays
            try:
                path.unlink()
            except OSError:
                pass
        _unlock(fd)
        os.close(fd)


def _busy_message(session_dir: Path | str, tag: str, holder: dict, wait: float) -> str:
    who = (f"process {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}"
           if holder else "another process")
    waited = f" (waited {wait:g} s)" if wait else ""
    return (f"another transfer of {Path(session_dir).name} ({tag}) is running: {who}{waited}; this one was not "
            "started. It will find the files the first one verified when it runs again.")


def _same_file(path: Path, fd: int) -> bool:
    try:
        return os.path.samestat(os.stat(path), os.fstat(fd))
    except OSError:
        return False


def _write_holder(fd: int, tag: str) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "tag": tag,
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    data = json.dumps(info).encode()
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)


def _read_holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {}


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        # Windows locks a byte range; byte 0 stands for the whole file (a lock beyond the end is allowed).
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass

    def _read_holder(fd: int) -> dict:  # noqa: F811 - the locked byte cannot be read on Windows
        return {}
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
