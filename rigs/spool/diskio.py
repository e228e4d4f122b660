"""Disk-side helpers: free space, durable sync, and keeping the page cache small while a series is written.

POSIX gets fdatasync + posix_fadvise(DONTNEED) behind the writer; Windows (no fadvise) gets fsync only, which
still bounds the unwritten data the OS holds. Where the OS has O_DIRECT, chunks bypass the page cache
altogether (DirectFile).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

_PAGE = 4096
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
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
        self.error: OSError | None = None  # the last sync failure, if any

    def __enter__(self) -> CacheTrimmer:
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
            try:
                self.sync()
            except OSError as exc:  # e.g. ENOSPC from a file system that allocates at sync: the writer decides
                if self.error is None:
                    log.warning("syncing %s failed: %s", self.path, exc)
                self.error = exc
            if closing:
                return

    def sync(self) -> None:
        if self._fd is None:
            return
        size = os.fstat(self._fd).st_size
        _datasync(self._fd)
        self.syncs += 1
        if sys.platform != "win32" and hasattr(os, "posix_fadvise"):  # Windows and macOS have none
            end = size - size % _PAGE
            if end > self._dropped_to:
                os.posix_fadvise(self._fd, self._dropped_to, end - self._dropped_to, os.POSIX_FADV_DONTNEED)
                self._dropped_to = end


DIRECT_MIN = 64 << 10  # smaller writes (HDF5 metadata, small chunks) are not worth a second descriptor


class DirectFile:
    """The series file as h5py's `fileobj` driver sees it: large page-aligned writes go out with O_DIRECT.

    HDF5 hands a direct chunk write to the driver as one write of the caller's own buffer (no copy), at an
    offset that file alignment (see h5layout) puts on a 4 KiB boundary. Every whole page of such a write goes
    to disk with O_DIRECT, so the kernel neither copies the chunk into the page cache nor writes it back and
    evicts it later: on a fast disk that is a fifth of a compressed series' CPU. The tail of the chunk (under
    one page), HDF5's metadata and anything unaligned go through an ordinary descriptor; the CacheTrimmer
    syncs and drops those. The direct range of a write never shares a page with other data: it starts at the
    chunk's aligned start and ends before the chunk's last partial page.
    Without O_DIRECT (Windows, tmpfs, some network file systems) every write is an ordinary one.
    """

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path)
        flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
        self._plain: int | None = os.open(self.path, flags | getattr(os, "O_BINARY", 0), 0o644)
        self._direct: int | None = None
        direct_flag = getattr(os, "O_DIRECT", 0)  # Linux and some BSDs; not Windows or macOS
        if direct_flag:
            try:
                self._direct = os.open(self.path, os.O_WRONLY | direct_flag)
            except OSError as exc:
                log.info("no O_DIRECT on %s (%s): chunks go through the page cache", self.path, exc)
        self._pos = 0
        self.direct_bytes = self.buffered_bytes = 0
        self.on_full: Callable[[], bool] | None = None  # called on ENOSPC: True if room was freed (write again)

    @property
    def direct(self) -> bool:
        return self._direct is not None

    # -- what h5py's fileobj driver calls ---------------------------------------------------------------
    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            self._pos = offset
        elif whence == os.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = os.fstat(self._fd()).st_size + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < view.nbytes:
            n = _pread_into(self._fd(), view[done:], self._pos + done)
            if n == 0:
                break
            done += n
        self._pos += done
        return done

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = max(0, os.fstat(self._fd()).st_size - self._pos)
        data = _pread(self._fd(), size, self._pos)
        self._pos += len(data)
        return data

    def write(self, data) -> int:
        try:
            return self._write(data)
        except OSError as exc:
            # The disk filled up under the writer: `on_full` gives back the room kept for the end of the series
            # (see reserve.py) and the write is tried once more, so HDF5 itself never sees ENOSPC.
            if exc.errno not in _NO_SPACE or self.on_full is None or not self.on_full():
                raise
            log.warning("%s: disk full; writing into the room kept for the end of the series", self.path)
            return self._write(data)

    def _write(self, data) -> int:
        view = memoryview(data).cast("B")
        head = self._direct_span(view)
        if head:
            try:
                _pwrite_all(self._direct, view[:head], self._pos)
                self.direct_bytes += head
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                log.warning("O_DIRECT write refused on %s (%s): using the page cache from now on", self.path, exc)
                self._close_direct()
                head = 0
        if head < view.nbytes:
            _pwrite_all(self._fd(), view[head:], self._pos + head)
            self.buffered_bytes += view.nbytes - head
        self._pos += view.nbytes
        return view.nbytes

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        if self._plain is None:
            # HDF5 may still finalize a file whose close failed, from a garbage collector's dealloc: raising
            # there has crashed the process. The descriptor is kept open in that case; this is the last guard.
            log.warning("%s: truncate after close ignored", self.path)
            return size
        # HDF5 truncates to its end of allocation at every flush; when that is the size already, ftruncate would
        # still free the blocks a reserve allocated past the end (reserve.py): skip it.
        if os.fstat(self._plain).st_size != size:
            os.ftruncate(self._plain, size)
        return size

    def flush(self) -> None:
        """Nothing is held here; durability is the CacheTrimmer's and the writer's fsync, as with sec2."""

    def close(self) -> None:
        self._close_direct()
        if self._plain is not None:
            os.close(self._plain)
            self._plain = None

    # -- internals ----------------------------------------------------------------------------------------
    def _fd(self) -> int:
        if self._plain is None:
            raise ValueError(f"{self.path} is closed")
        return self._plain

    def _direct_span(self, view: memoryview) -> int:
        """How many leading bytes of `view` may go out with O_DIRECT at the current offset (0: none)."""
        if self._direct is None or view.nbytes < DIRECT_MIN or self._pos % DIRECT_ALIGN:
            return 0
        if np.frombuffer(view, dtype=np.uint8).ctypes.data % DIRECT_ALIGN:
            return 0
        return view.nbytes - view.nbytes % DIRECT_ALIGN

    def _close_direct(self) -> None:
        if self._direct is not None:
            os.close(self._direct)
            self._direct = None


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    done = 0
    while done < view.nbytes:
        done += _pwrite(fd, view[done:], offset + done)


# Positioned reads and writes. Windows' os module has no pread, preadv or pwrite: there a seek and a plain
# read or write stand in, which is safe because DirectFile keeps its own position (_pos) and h5py's driver
# calls it from one thread at a time.
def _pread(fd: int, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def _pread_into(fd: int, view: memoryview, offset: int) -> int:
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], offset)
    data = _pread(fd, view.nbytes, offset)
    view[: len(data)] = data
    return len(data)


def _pwrite(fd: int, view: memoryview, offset: int) -> int:
    if hasattr(os, "pwrite"):
        return os.pwrite(fd, view, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.write(fd, view)
