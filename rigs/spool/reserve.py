"""Room kept on the disk for the end of a series, so that HDF5 never meets a full disk.

HDF5 must write its metadata (the chunk index, the frame table, the end-of-series attributes) when a file is
closed. If the disk is full by then, the close fails half way and the file can be left with none of its frames,
or the library crashes the process. Stopping before the disk is full is the first line (the writer checks free
space before every batch); the reserve is the second, whatever else fills the disk meanwhile:

- `TailReserve` (Linux): the series file's own blocks are allocated ahead of what is written, by at least the
  reserve, with fallocate(FALLOC_FL_KEEP_SIZE) (readers see nothing: the file's size is unchanged). The writer
  extends the allocation before every batch; when that fails the disk is full, the series stops, and the close
  writes into blocks that are already the file's, which no other process can take. What is left is freed after
  the end-of-series metadata is written.
- `DiskReserve` (elsewhere, or a file system without that fallocate): a hidden file holding the room, deleted to
  give the room to HDF5 just before the close (another process could take it meanwhile; the writer also re-reads
  the frame count from the file after any failure, so what is reported is what is there).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

MIB = 1 << 20
METADATA_ROOM = 4 * MIB  # the close and finalize of a series write far less than this (chunk index, tables)
# Ends like the copier's temporary files, so a reserve left behind by a killed spooler is never copied.
SUFFIX = ".spool-reserve.labweb-tmp"
NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def reserve_size(frame_bytes: int) -> int:
    """Room for the close plus two frames: a frame written while the disk filled up can still land."""
    return METADATA_ROOM + 2 * int(frame_bytes)


def reserve_path(series: Path) -> Path:
    return series.with_name(f".{series.stem}{SUFFIX}")


def is_no_space(exc: BaseException) -> bool:
    """True for 'no space left on device' or 'disk quota exceeded', however deep in the cause chain."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class ReserveUnsupported(OSError):
    """This OS or file system cannot allocate ahead of a file's end (use a DiskReserve instead)."""


_KEEP_SIZE, _PUNCH_HOLE = 0x01, 0x02


def _fallocate_function():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, "fallocate64", None) or libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int
    return function


_fallocate = _fallocate_function()


def _fallocate_keep(fd: int, mode: int, offset: int, length: int) -> None:
    if _fallocate(fd, mode, offset, length) != 0:
        err = ctypes.get_errno()
        if err in (errno.EOPNOTSUPP, errno.ENOSYS, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
            raise ReserveUnsupported(err, os.strerror(err))
        raise OSError(err, os.strerror(err))


class TailReserve:
    """Blocks allocated past the end of the series file (see the module docstring). Linux only.

    `create()` takes the reserve (OSError ENOSPC: the series could not end cleanly; ReserveUnsupported: use a
    DiskReserve); `ensure(nbytes)` extends it so the next `nbytes` written still leave the whole reserve (False
    when the disk is full: stop writing); `release()` frees what is left (after the file is complete).
    """

    in_file = True

    def __init__(self, series: Path, nbytes: int) -> None:
        self.path = Path(series)
        self.nbytes = int(nbytes)
        self._fd: int | None = None

    def create(self) -> None:
        if _fallocate is None:
            raise ReserveUnsupported(errno.EOPNOTSUPP, "no fallocate on this OS")
        self._fd = os.open(self.path, os.O_RDWR | getattr(os, "O_BINARY", 0))
        try:
            self._extend(0)
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise

    def _extend(self, nbytes: int) -> None:
        size = os.fstat(self._fd).st_size
        _fallocate_keep(self._fd, _KEEP_SIZE, size, nbytes + self.nbytes)

    def ensure(self, nbytes: int) -> bool:
        if self._fd is None:
            return False
        try:
            self._extend(nbytes)
        except OSError as exc:
            if exc.errno in NO_SPACE:
                return False
            raise
        return True

    def release(self) -> bool:
        """Free the blocks past the file's end (call once the file is complete, or to give room back)."""
        if self._fd is None:
            return False
        try:
            size = os.fstat(self._fd).st_size
            _fallocate_keep(self._fd, _KEEP_SIZE | _PUNCH_HOLE, size, self.nbytes + (1 << 40))
        except OSError as exc:
            log.warning("could not free the reserve past the end of %s: %s", self.path, exc)
        finally:
            os.close(self._fd)
            self._fd = None
        return True


def reserve_open(series: Path, nbytes: int) -> TailReserve | DiskReserve:
    """The best reserve this OS and file system offer for the series file, already taken (OSError if the disk
    cannot hold it)."""
    tail = TailReserve(series, nbytes)
    try:
        tail.create()
        return tail
    except ReserveUnsupported as exc:
        log.info("%s: no room can be allocated ahead of the file (%s); keeping a reserve file instead", series, exc)
    ballast = DiskReserve(series, nbytes)
    ballast.create()
    return ballast


class DiskReserve:
    """One series' reserve file: `create()` takes the room, `release()` gives it back (idempotent, thread-safe
    enough: os.unlink of a file already gone is ignored)."""

    in_file = False

    def ensure(self, nbytes: int) -> bool:
        """The free-space check is the writer's; a reserve file needs nothing per batch."""
        return True

    def __init__(self, series: Path, nbytes: int) -> None:
        self.path = reserve_path(series)
        self.nbytes = int(nbytes)
        self.held = False

    def create(self) -> None:
        """Take the room now; OSError (ENOSPC) when the disk cannot even hold it: the series cannot end cleanly."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
        try:
            _allocate(fd, self.nbytes)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise
        os.close(fd)
        self.held = True

    def release(self) -> bool:
        """Give the room back; True if it was held (so a write that found the disk full may try again)."""
        if not self.held:
            return False
        self.held = False
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete the disk reserve %s: %s", self.path, exc)
        return True


def _allocate(fd: int, nbytes: int) -> None:
    """Really allocate `nbytes` (a sparse file would hold no room): posix_fallocate, else write zeros."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, nbytes)
            return
        except OSError as exc:
            if exc.errno in NO_SPACE:
                raise
            # EINVAL/EOPNOTSUPP: the file system cannot preallocate; zeros do the same, more slowly
    block = b"\0" * MIB
    done = 0
    while done < nbytes:
        done += os.write(fd, block[: min(MIB, nbytes - done)])


def stale_sweep(folder: Path, *, idle_seconds: float = 600.0) -> None:
    """Delete reserves in `folder` left by a spooler that was killed (they hold disk space for nothing).

    A reserve is stale when its series file is gone or has not changed for `idle_seconds`: a running series
    flushes at least every 2 s, so another spooler's live reserve in the same folder is left alone.
    """
    try:
        candidates = list(folder.glob(f".*{SUFFIX}"))
    except OSError:
        return
    now = time.time()
    for path in candidates:
        series = path.with_name(path.name[1:-len(SUFFIX)] + ".h5")
        try:
            if series.exists() and now - series.stat().st_mtime < idle_seconds:
                continue
            path.unlink()
            log.info("deleted a disk reserve left by an earlier series: %s", path)
        except OSError:
            pass
