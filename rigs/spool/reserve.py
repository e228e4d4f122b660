"""Room kept on the disk for the end of a series: a hidden file that holds space while the series runs and is
deleted to give that space to HDF5 when the series ends (or when the disk fills up under it).

HDF5 must write its metadata (the chunk index, the frame table, the end-of-series attributes) when a file is
closed. If the disk is full by then, the close fails half way and the file can be left with none of its frames,
or the library crashes the process. Stopping before the disk is full is the first line (the writer checks free
space before every batch); this file is the second: whatever else fills the disk meanwhile, the room for the
close is already taken, and given back at the last moment.
"""

from __future__ import annotations

import errno
import logging
import os
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


class DiskReserve:
    """One series' reserve file: `create()` takes the room, `release()` gives it back (idempotent, thread-safe
    enough: os.unlink of a file already gone is ignored)."""

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
