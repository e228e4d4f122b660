"""Disk-side helpers: free space, durable sync, and keeping the page cache small while a series is written.

POSIX gets fdatasync + posix_fadvise(DONTNEED) behind the writer; Windows (no fadvise) gets fsync only, which
still bounds the unwritten data the OS holds. Where the OS has O_DIRECT, uncompressed frames bypass the page
cache altogether (RawWriter).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
from pathlib import Path

_PAGE = 4096
DIRECT_ALIGN = 4096  # O_DIRECT: buffer address, file offset and length multiples of this (any block size <= 4K)

log = logging.getLogger(__name__)


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


def _aligned(data: memoryview, offset: int) -> bool:
    import numpy as np

    address = np.frombuffer(data, dtype=np.uint8).ctypes.data if data.nbytes else 0
    return address % DIRECT_ALIGN == 0 and offset % DIRECT_ALIGN == 0 and data.nbytes % DIRECT_ALIGN == 0


class RawWriter:
    """Writes bytes at given offsets of an open file, with O_DIRECT when the OS, file system and alignment allow.

    O_DIRECT skips the kernel's copy into the page cache and the later writeback and eviction: on a fast disk
    that copy is most of the CPU an uncompressed series costs. Anything unaligned, or a file system that refuses
    O_DIRECT, goes through an ordinary descriptor instead (the CacheTrimmer then syncs and drops those pages).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._plain = _open_for_sync(self.path)
        self._direct: int | None = None
        flag = getattr(os, "O_DIRECT", 0)
        if flag:
            try:
                self._direct = os.open(self.path, os.O_WRONLY | flag)
            except OSError as exc:
                log.info("no O_DIRECT on %s (%s): frames go through the page cache", self.path, exc)
        self.direct_bytes = self.buffered_bytes = 0

    @property
    def direct(self) -> bool:
        return self._direct is not None

    def write_at(self, data, offset: int) -> int:
        view = memoryview(data).cast("B")
        if self._direct is not None and _aligned(view, offset):
            try:
                _pwrite_all(self._direct, view, offset)
                self.direct_bytes += view.nbytes
                return view.nbytes
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                log.warning("O_DIRECT write refused on %s (%s): using the page cache from now on", self.path, exc)
                os.close(self._direct)
                self._direct = None
        _pwrite_all(self._plain, view, offset)
        self.buffered_bytes += view.nbytes
        return view.nbytes

    def close(self) -> None:
        for fd in (self._direct, self._plain):
            if fd is not None:
                os.close(fd)
        self._direct = self._plain = None


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    done = 0
    while done < view.nbytes:
        done += os.pwrite(fd, view[done:], offset + done)
