"""Disk-side helpers: free space, durable sync, and keeping the page cache small while a series is written.

POSIX gets fdatasync + posix_fadvise(DONTNEED) behind the writer; Windows (no fadvise) gets fsync only, which
still bounds the unwritten data the OS holds.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

_PAGE = 4096


def disk_free(path: str | Path) -> int:
    """Bytes available to this user (statvfs f_bavail on POSIX) on the filesystem holding `path`."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def _open_for_sync(path: Path) -> int:
    # Windows' FlushFileBuffers needs write access; O_BINARY only exists there.
    return os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))


def _datasync(fd: int) -> None:
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def fsync_path(path: str | Path) -> None:
    """Make everything written to `path` so far durable (from any handle: the OS flushes the file, not a fd)."""
    fd = _open_for_sync(Path(path))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CacheTrimmer:
    """A background thread that syncs the file every `every_bytes` (or `interval` s) and drops synced pages.

    The writer only reports how much it wrote; it never waits for the disk itself.
    """

    def __init__(self, path: str | Path, *, every_bytes: int = 64 << 20, interval: float = 1.0):
        self.path = Path(path)
        self.every_bytes = max(1, int(every_bytes))
        self.interval = interval
        self._cond = threading.Condition()
        self._unsynced = 0
        self._closing = False
        self._dropped_to = 0
        self._fd: int | None = None
        self._thread = threading.Thread(target=self._run, name="spool-sync", daemon=True)
        self.syncs = 0

    def __enter__(self) -> "CacheTrimmer":
        self._fd = _open_for_sync(self.path)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def wrote(self, nbytes: int) -> None:
        with self._cond:
            self._unsynced += nbytes
            if self._unsynced >= self.every_bytes:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._closing and self._unsynced < self.every_bytes:
                    self._cond.wait(self.interval)
                closing, self._unsynced = self._closing, 0
            self.sync()
            if closing:
                return

    def sync(self) -> None:
        if self._fd is None:
            return
        size = os.fstat(self._fd).st_size
        _datasync(self._fd)
        self.syncs += 1
        if hasattr(os, "posix_fadvise"):
            end = size - size % _PAGE
            if end > self._dropped_to:
                os.posix_fadvise(self._fd, self._dropped_to, end - self._dropped_to, os.POSIX_FADV_DONTNEED)
                self._dropped_to = end
