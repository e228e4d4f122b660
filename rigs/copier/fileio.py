"""The copier's disk primitives: positioned reads and writes, cache hints, fsync and syncfs, whole-file hashing,
and the writer thread that copies ranges in the kernel where it can (copy_file_range).

Each works on Windows too (no posix_fadvise, pread or syncfs there: the fallbacks are plain reads and fsyncs).
"""

from __future__ import annotations

import ctypes
import errno
import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from rigs.copier.hashes import hasher_new

CHUNK = 1 << 20  # small enough to stay in the CPU cache between read, hash and write
READ_AHEAD = 32  # small source files open with a read requested, ahead of the one being copied
TMP_SUFFIX = ".labweb-tmp"
O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF, errno.EPERM, errno.ETXTBSY}


def tmp_path(dest: Path) -> Path:
    """Temporary name of a file being copied: hidden, in its destination folder, so the rename is atomic."""
    return dest.with_name(f".{dest.name}{TMP_SUFFIX}")


class Writer:
    """The writing half of the pipeline: a thread that copies ranges (kernel) or writes buffers."""

    def __init__(self, src_fd: int, dst, chunk: int, kernel_copy: bool, depth: int = 3) -> None:
        self.src_fd = src_fd
        self.dst = dst
        self.kernel_copy = kernel_copy
        self.error: BaseException | None = None
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(depth):
            self._free.put(bytearray(chunk))
        self._todo: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="copier-writer", daemon=True)
        self._thread.start()

    def buffer(self) -> bytearray:
        self._raise()
        return self._free.get()

    def give_back(self, buf: bytearray) -> None:
        self._free.put(buf)

    def put(self, buf: bytearray, offset: int, count: int) -> None:
        self._raise()
        self._todo.put((buf, offset, count))

    def drain(self) -> None:
        self._todo.join()
        self._raise()

    def close(self) -> None:
        self._todo.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error:
            raise self.error

    def _run(self) -> None:
        while True:
            item = self._todo.get()
            try:
                if item is None:
                    return
                buf, offset, count = item
                if not self.error:  # after an error, keep cycling buffers so the reader never blocks
                    self._write(memoryview(buf)[:count], offset)
                self._free.put(buf)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                self.error = exc
                self._free.put(item[0])
            finally:
                self._todo.task_done()

    def _write(self, view: memoryview, offset: int) -> None:
        done = 0
        if sys.platform != "win32" and self.kernel_copy:  # copy_file_range: Linux only (kernel_copy says so)
            try:
                while done < len(view):
                    n = os.copy_file_range(self.src_fd, self.dst.fileno(), len(view) - done, offset + done, offset + done)
                    if n == 0:
                        raise OSError(errno.EIO, "source ended during the kernel copy")
                    done += n
                return
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY:
                    raise
                self.kernel_copy = False  # other file systems, old kernels: plain writes from here on
        pwrite(self.dst, view[done:], offset + done)


def read_into(src, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = src.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def pwrite(fh, view: memoryview, offset: int) -> None:
    if hasattr(os, "pwrite"):
        while len(view):
            n = os.pwrite(fh.fileno(), view, offset)
            view, offset = view[n:], offset + n
    else:  # Windows: only this thread writes this file, so seeking is safe
        fh.seek(offset)
        fh.write(view)


def unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # the share vanished or is read-only: nothing more to do here
        pass


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def drop_cache(fd: int, offset: int = 0, length: int = 0) -> None:
    if sys.platform != "win32" and hasattr(os, "posix_fadvise"):  # Windows and macOS have none
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


class ReadAhead:
    """Keeps the next READ_AHEAD source files open with a read requested from the OS (posix_fadvise WILLNEED),
    so that one thread copying small files one by one still has many reads in flight. Where a file cannot be
    opened here, or the OS has no posix_fadvise, `take` gives None and the copy opens the file itself."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths if sys.platform != "win32" and hasattr(os, "posix_fadvise") else []
        self.fds: dict[int, int | None] = {}
        self.opened = 0

    def take(self, index: int) -> int | None:
        """The open file for paths[index] (the caller closes it), or None."""
        while self.opened < min(index + READ_AHEAD, len(self.paths)):
            self.fds[self.opened] = self._open(self.paths[self.opened])
            self.opened += 1
        return self.fds.pop(index, None)

    def close(self) -> None:
        for fd in self.fds.values():
            if fd is not None:
                os.close(fd)
        self.fds.clear()

    @staticmethod
    def _open(path: Path) -> int | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        if sys.platform != "win32":  # never reached there (no paths): said for the Windows type check
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            except OSError:
                pass  # only a hint
        return fd


def read_whole(fd: int, size: int) -> bytes:
    """Up to size + 1 bytes from the start (one more than expected shows a file that grew), one read() if it can."""
    parts, got = [], 0
    while got < size + 1:
        chunk = os.read(fd, size + 1 - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
        if got == size:
            break  # the fstat after the read catches a file that grows from here
    return parts[0] if len(parts) == 1 else b"".join(parts)


def prefetch(fd: int, offset: int, length: int) -> None:
    if sys.platform != "win32" and hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_WILLNEED)


def read_at(fh, start: int, length: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fh.fileno(), length, start)
    fh.seek(start)  # Windows
    return fh.read(length)


def file_hash(fh, algorithm: str, *, uncached: bool = False, chunk: int = CHUNK, on_bytes: Callable[[int], None] | None = None) -> str:
    """Hash an open binary file from its start; `uncached` first drops its pages so the bytes come from storage."""
    if uncached:
        drop_cache(fh.fileno())
    fh.seek(0)
    hasher = hasher_new(algorithm)
    buf = bytearray(chunk)
    view = memoryview(buf)
    while n := fh.readinto(view):
        hasher.update(view[:n])
        if on_bytes:
            on_bytes(n)
    return hasher.hexdigest()


def _libc_with_syncfs():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc if hasattr(libc, "syncfs") else None
    except OSError:
        return None


_LIBC = _libc_with_syncfs()


def fsync_path(path: Path) -> None:
    # Windows needs a handle open for writing to flush; POSIX accepts either.
    with open(path, "rb+", buffering=0) as fh:
        os.fsync(fh.fileno())


def fsync_dir(folder: Path) -> None:
    """Make renames in `folder` durable (POSIX); Windows cannot open a folder and commits renames itself."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some network file systems refuse fsync on a directory
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def syncfs(folder: Path) -> bool:
    """Linux: make everything written on `folder`'s file system durable with one call (where one fsync per small
    file costs a journal commit each). False where there is no syncfs: fsync each file instead."""
    if _LIBC is None:
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        if _LIBC.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs {folder}: {os.strerror(err)}")
    finally:
        os.close(fd)
    return True
