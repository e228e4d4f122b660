"""The copy engine: each source file is read once, hashed while copied, written under a temporary name in
its destination folder, fsynced, checked, then renamed; every committed file goes to the resume journal.

How the destination is verified without a second full read: the hash is taken over the very bytes read from
the source, and the copy is accepted when (1) the source's size and mtime did not change during the copy,
(2) the temporary file, once fsynced, has exactly the size read, and (3) sample blocks (head, middle and tail,
64 KiB each; whole files up to 192 KiB) read back from the destination equal the source bytes, after asking
the OS to drop those pages from its cache (posix_fadvise DONTNEED; where the OS has no such call the read
may come from the cache). `verify="full"` re-reads and re-hashes the whole destination instead; `verify()` in
rigs.copier.verify does that later against the manifest (and before any local clean-up).

Speed, large files (16 MiB and up): on Linux the bytes go from the source to the destination with
copy_file_range (in the kernel, from the page cache the hashing read just filled), falling back to write()
across file systems or on other OSes; reading+hashing and writing overlap in two threads, several large files
are copied at once, and each is fsynced on its own.
Speed, small files: one thread copies them whole, one after the other, while the OS reads the next ones ahead
(posix_fadvise WILLNEED); Python threads would spend more on handing each other the GIL around microsecond
system calls than they save. Only when small files prove slow (a network share) are they spread over the pool.
Per batch (256 files or 2 GiB) there is one syncfs() on Linux (an fsync per file elsewhere, in parallel),
one read-back pass whose reads are all requested at once, the renames, one fsync per folder and one journal
append (one fsync per small file is what makes a naive copier slow), in a second thread while the next batch
is written.
"""

from __future__ import annotations

import ctypes
import errno
import os
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from rigs.copier.hashes import DEFAULT_ALGORITHM, hasher_new
from rigs.copier.journal import Checkpoint, FileRecord, Journal
from rigs.copier.progress import ProgressTracker

CHUNK = 1 << 20  # small enough to stay in the CPU cache between read, hash and write
SAMPLE = 64 << 10
LARGE = 16 << 20  # files from this size stream through the reader/writer pipeline and fsync on their own
BATCH_FILES = 256
BATCH_BYTES = 2 << 30
CHECKPOINT_BYTES = 512 << 20
SMALL_CHUNK = 16  # small files per pool task, once they are spread over the pool
SLOW_FILE = 0.002  # seconds per small file from which a batch's small files are worth several threads
READ_AHEAD = 32  # small source files open with a read requested, ahead of the one being copied
READBACK_WINDOW = 64  # files whose sample blocks are read back together (and so many open at once)
TMP_SUFFIX = ".labweb-tmp"
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF, errno.EPERM, errno.ETXTBSY}


def tmp_path(dest: Path) -> Path:
    """Temporary name of a file being copied: hidden, in its destination folder, so the rename is atomic."""
    return dest.with_name(f".{dest.name}{TMP_SUFFIX}")


class CopyError(OSError):
    """A file could not be copied; `rel` names it."""

    def __init__(self, rel: str, message: str) -> None:
        super().__init__(f"{rel}: {message}")
        self.rel = rel


class VerifyMismatch(CopyError):
    """The destination does not hold the bytes that were read; the bad file has been removed."""


class SourceChanged(CopyError):
    """The source file changed while it was copied, so its hash describes nothing; copy it again later."""


class CopyCancelled(CopyError):
    """The caller asked the copy to stop."""


class CopyFailed(Exception):
    """Some files of a batch failed; the others were committed (and journaled) before this was raised."""

    def __init__(self, errors: list[BaseException], done: list[FileRecord]) -> None:
        super().__init__("; ".join(_describe(e) for e in errors[:3]) + (" ..." if len(errors) > 3 else ""))
        self.errors = errors
        self.done = done


@dataclass(frozen=True)
class CopyJob:
    source: Path
    dest: Path
    rel: str
    size: int
    checkpoint: Checkpoint | None = None


@dataclass
class _Written:
    """A file whose bytes are under its temporary name; not yet durable or visible."""

    job: CopyJob
    tmp: Path
    size: int
    digest: str
    src_mtime_ns: int
    samples: dict[int, bytearray]
    synced: bool = False
    failed: BaseException | None = field(default=None)
    dst_mtime_ns: int = 0  # of the temporary file once durable (the rename keeps it), for the journal


class CopyEngine:
    """Copies batches of files; reusable across sessions (it keeps only its settings and byte counters)."""

    def __init__(
        self,
        *,
        algorithm: str = DEFAULT_ALGORITHM,
        workers: int = 3,
        kernel_copy: bool = True,
        verify: str = "sample",
        chunk: int = CHUNK,
        checkpoint_bytes: int = CHECKPOINT_BYTES,
        cancel: threading.Event | None = None,
    ) -> None:
        if verify not in ("sample", "full"):
            raise ValueError(f"verify must be 'sample' or 'full', not {verify!r}")
        hasher_new(algorithm)  # fail now on an unknown algorithm, not in a thread
        self.algorithm = algorithm
        self.workers = max(1, workers)
        self.kernel_copy = kernel_copy and hasattr(os, "copy_file_range")
        self.verify = verify
        self.chunk = chunk
        self.checkpoint_bytes = checkpoint_bytes
        self.cancel = cancel or threading.Event()
        self.bytes_written = 0
        self._lock = threading.Lock()

    def copy(
        self, jobs: Iterable[CopyJob], *, journal: Journal | None = None, progress: ProgressTracker | None = None
    ) -> list[FileRecord]:
        """Copy every job; raise CopyFailed after committing what succeeded if any file failed.

        Batches overlap: while this thread writes batch k+1, another makes batch k durable, reads it back, renames
        it into place and journals it (mostly waiting on storage, so the two hardly compete for the GIL). After a
        batch with errors no new batch starts; the one already written is committed.
        """
        done: list[FileRecord] = []
        errors: list[BaseException] = []
        folders: set[str] = set()  # destination folders already created in this copy
        spread = [False]  # small files on every worker from now on (set once they prove slow)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="copier") as pool, ThreadPoolExecutor(
            1, thread_name_prefix="copier-commit"
        ) as committer:
            finishing = None
            for batch in _batches(list(jobs)):
                written, failed = self._write_batch(pool, batch, folders, spread, journal, progress)
                if finishing is not None:
                    _collect(finishing, done, errors)
                finishing = committer.submit(self._finish_batch, pool, written, failed, journal, progress)
                if errors or failed:
                    break
            if finishing is not None:
                _collect(finishing, done, errors)
        if errors:
            raise CopyFailed(errors, done)
        return done

    def _write_batch(self, pool, batch, folders, spread, journal, progress) -> tuple[list[_Written], list[BaseException]]:
        """Large files go to the pool, one each (each streams through its own reader/writer pair). Small files
        are copied whole, one after the other, by this thread: on a local disk each system call takes
        microseconds and threads would spend more on handing the GIL to each other than they save (3000 x
        64 KiB: ~26,000 context switches with three threads, ~1,600 with one, and one is faster). The OS reads
        ahead for it (posix_fadvise). If small files turn out slow (a network share: milliseconds per file),
        later batches spread them over the pool to hide the latency."""
        small = [job for job in batch if not _streams(job)]
        tasks = _tasks(batch, _streams) if spread[0] else [[job] for job in batch if _streams(job)]
        runs = [pool.submit(self._write_many, task, folders, journal, progress) for task in tasks]
        outcomes: list[_Written | BaseException] = []
        if small and not spread[0]:
            clock = time.monotonic()
            outcomes += self._write_many(small, folders, journal, progress)
            spread[0] = (time.monotonic() - clock) / len(small) > SLOW_FILE
        for run in runs:
            outcomes += run.result()
        written = [o for o in outcomes if isinstance(o, _Written)]
        return written, [o for o in outcomes if not isinstance(o, _Written)]

    def _write_many(self, jobs, folders, journal, progress) -> list[_Written | BaseException]:
        outcomes: list[_Written | BaseException] = []
        ahead = _ReadAhead([job.source for job in jobs] if len(jobs) > 1 else [])
        try:
            for index, job in enumerate(jobs):
                fd = ahead.take(index)
                try:
                    outcomes.append(self._write(job, folders, journal, progress, fd))
                except BaseException as exc:  # noqa: BLE001 - reported per file, the batch goes on
                    outcomes.append(exc)
                finally:
                    if fd is not None:
                        os.close(fd)
        finally:
            ahead.close()
        return outcomes

    def _finish_batch(self, pool, written, errors, journal, progress) -> tuple[list[FileRecord], list[BaseException]]:
        """Durable (one syncfs, or an fsync per file), verified, renamed, journaled; a bad file is removed. Gives
        the records and `errors` plus the verification failures."""
        errors = list(errors)
        self._make_durable(pool, [w for w in written if not w.synced])
        if self.verify == "full":
            list(pool.map(self._verify_full_many, _tasks(written, lambda w: w.size >= LARGE)))
        else:
            for i in range(0, len(written), READBACK_WINDOW):
                _verify_samples(written[i : i + READBACK_WINDOW])
        for item in written:
            if item.failed:
                _unlink_quietly(item.tmp)
                errors.append(item.failed)
        records = self._commit([w for w in written if not w.failed])
        if journal:
            journal.append(records)
        if progress:
            for record in records:
                progress.file_done(record.path)
        return records, errors

    # -- one file ---------------------------------------------------------------------------------------------
    def _write(self, job: CopyJob, folders: set[str], journal, progress, src_fd: int | None = None) -> _Written:
        """`src_fd`: the source already open (read from it, the caller closes it)."""
        if progress:
            progress.file_started(job.rel)
        if self.cancel.is_set():
            raise CopyCancelled(job.rel, "cancelled")
        folder = os.path.dirname(job.dest)
        if folder not in folders:
            root = Path(job.dest).parents[job.rel.count("/")]
            if not root.is_dir():  # never re-create it: the share vanished, and it would land on the rig's disk
                raise CopyError(job.rel, f"destination folder {root} is gone (server share unreachable?)")
            os.makedirs(folder, exist_ok=True)
            folders.add(folder)
        tmp = tmp_path(job.dest)
        try:
            if not _streams(job):
                written = self._write_small(job, tmp, progress, src_fd)
                if written is not None:
                    return written
            try:
                return self._write_resumable(job, tmp, journal, progress)
            except _Restart:
                return self._write_from(job, tmp, 0, None, journal, progress)
        except CopyCancelled:
            raise  # keep the checkpointed part: the next run resumes from it
        except BaseException:
            _unlink_quietly(tmp)  # free the space (disk full) and leave nothing half-written behind
            raise

    def _write_small(self, job: CopyJob, tmp: Path, progress, src_fd: int | None) -> _Written | None:
        """Read the whole file once, hash those bytes, write them; None if it has grown large since the plan."""
        fd = os.open(job.source, os.O_RDONLY | _O_BINARY) if src_fd is None else src_fd
        try:
            before = os.fstat(fd)
            if before.st_size >= LARGE:
                return None
            data = _read_whole(fd, before.st_size)
            after = os.fstat(fd)
        finally:
            if src_fd is None:
                os.close(fd)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or len(data) != before.st_size:
            raise SourceChanged(job.rel, "source changed while it was copied")
        hasher = hasher_new(self.algorithm)
        hasher.update(data)
        with open(tmp, "wb", buffering=0) as dst:
            _pwrite(dst, memoryview(data), 0)
        self._count(len(data), progress)
        if len(data) <= 3 * SAMPLE:
            samples = {0: data} if data else {}  # the whole file is read back: keep the bytes, no copy
        else:
            sampler = _Sampler(len(data))
            sampler.take(0, memoryview(data))
            samples = sampler.blocks
        return _Written(job, tmp, len(data), hasher.hexdigest(), before.st_mtime_ns, samples)

    def _write_resumable(self, job, tmp, journal, progress) -> _Written:
        cp = job.checkpoint
        usable = cp is not None and cp.algorithm == self.algorithm and _size(tmp) >= cp.offset
        return self._write_from(job, tmp, cp.offset if usable else 0, cp if usable else None, journal, progress)

    def _write_from(self, job, tmp, resume_at, cp, journal, progress) -> _Written:
        hasher = hasher_new(self.algorithm)
        with open(job.source, "rb", buffering=0) as src:
            before = os.fstat(src.fileno())
            if cp and (before.st_size != cp.src_size or before.st_mtime_ns != cp.src_mtime_ns):
                resume_at, cp = 0, None
            sampler = _Sampler(before.st_size)
            with open(tmp, "r+b" if resume_at else "wb", buffering=0) as dst:
                if resume_at:
                    dst.truncate(resume_at)
                self._stream(src, dst, before, hasher, sampler, resume_at, cp, job, tmp, journal, progress)
                after = os.fstat(src.fileno())
                if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                    raise SourceChanged(job.rel, "source changed while it was copied")
                os.fsync(dst.fileno())  # a large file is worth its own fsync; small ones share a syncfs
        return _Written(job, tmp, before.st_size, hasher.hexdigest(), before.st_mtime_ns, sampler.blocks, True)

    def _stream(self, src, dst, before, hasher, sampler, resume_at, cp, job, tmp, journal, progress) -> None:
        """Read+hash here, write in a second thread; the two overlap (both release the GIL)."""
        size = before.st_size
        writer = _Writer(src.fileno(), dst, self.chunk, self.kernel_copy)
        next_checkpoint = self._next_checkpoint(resume_at, size, journal)
        offset = 0
        try:
            while offset < size:
                if self.cancel.is_set():
                    raise CopyCancelled(job.rel, "cancelled")
                limit = min(self.chunk, size - offset)
                if offset < resume_at:
                    limit = min(limit, resume_at - offset)
                buf = writer.buffer()
                count = _read_into(src, memoryview(buf)[:limit])
                if count == 0:
                    raise SourceChanged(job.rel, "source is shorter than when the copy started")
                view = memoryview(buf)[:count]
                hasher.update(view)
                sampler.take(offset, view)
                if offset >= resume_at:
                    writer.put(buf, offset, count)
                    self._count(count, progress)
                else:
                    writer.give_back(buf)
                    if progress:
                        progress.add_bytes(count)
                offset += count
                if offset == resume_at and cp and hasher.copy().hexdigest() != cp.prefix_hash:
                    raise _Restart()
                if next_checkpoint and offset >= next_checkpoint and offset < size:
                    writer.drain()
                    os.fsync(dst.fileno())
                    journal.append([self._checkpoint(job, tmp, offset, hasher, before)])
                    next_checkpoint += self.checkpoint_bytes
        finally:
            writer.close()

    def _next_checkpoint(self, resume_at: int, size: int, journal: Journal | None) -> int:
        if not journal or not self.checkpoint_bytes or size < 2 * self.checkpoint_bytes:
            return 0
        return (resume_at // self.checkpoint_bytes + 1) * self.checkpoint_bytes

    def _checkpoint(self, job, tmp, offset, hasher, before) -> Checkpoint:
        return Checkpoint(
            path=job.rel,
            tmp=tmp.name,
            offset=offset,
            prefix_hash=hasher.copy().hexdigest(),
            algorithm=self.algorithm,
            src_size=before.st_size,
            src_mtime_ns=before.st_mtime_ns,
        )

    def _count(self, count: int, progress: ProgressTracker | None) -> None:
        with self._lock:
            self.bytes_written += count
        if progress:
            progress.add_bytes(count)

    # -- durability and verification ------------------------------------------------------------------------
    def _make_durable(self, pool, items: list[_Written]) -> None:
        if not _syncfs_batch(items):
            list(pool.map(self._fsync_many, _tasks(items, lambda w: False)))

    def _fsync_many(self, items: list[_Written]) -> None:
        # in parallel, so the file system can group the commits
        for item in items:
            try:
                _fsync_path(item.tmp)
                item.synced = True
            except BaseException as exc:  # noqa: BLE001 - reported per file
                item.failed = exc

    def _verify_full_many(self, items: list[_Written]) -> None:
        for item in items:
            if item.failed:
                continue
            try:
                with open(item.tmp, "rb", buffering=0) as fh:
                    _check_size(item, os.fstat(fh.fileno()))
                    actual = file_hash(fh, self.algorithm, uncached=True)
                if actual != item.digest:
                    raise VerifyMismatch(item.job.rel, f"destination hash {actual} != source hash {item.digest}")
            except BaseException as exc:  # noqa: BLE001 - reported per file
                item.failed = exc

    def _commit(self, items: list[_Written]) -> list[FileRecord]:
        records = []
        for item in items:
            os.replace(item.tmp, item.job.dest)
            records.append(
                FileRecord(
                    path=item.job.rel,
                    size=item.size,
                    hash=item.digest,
                    algorithm=self.algorithm,
                    src_mtime_ns=item.src_mtime_ns,
                    dst_mtime_ns=item.dst_mtime_ns,  # taken from the synced file; a rename keeps it
                )
            )
        for folder in {item.job.dest.parent for item in items}:
            fsync_dir(folder)
        return records


class _Restart(Exception):
    """The resumed prefix no longer matches the source: copy the file from its first byte."""


class _Writer:
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
        if self.kernel_copy:
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
        _pwrite(self.dst, view[done:], offset + done)


class _Sampler:
    """Keeps the source bytes of the blocks that will be read back from the destination."""

    def __init__(self, size: int) -> None:
        if size <= 3 * SAMPLE:
            starts = [0] if size else []
            lengths = [size]
        else:
            middle = (size // 2) & ~4095
            starts, lengths = [0, middle, size - SAMPLE], [SAMPLE] * 3
        self.blocks = {start: bytearray(length) for start, length in zip(starts, lengths)}

    def take(self, offset: int, view: memoryview) -> None:
        end = offset + len(view)
        for start, block in self.blocks.items():
            lo, hi = max(start, offset), min(start + len(block), end)
            if lo < hi:
                block[lo - start : hi - start] = view[lo - offset : hi - offset]


def _streams(job: CopyJob) -> bool:
    """Large files and resumed ones go through the reader/writer pipeline; the rest are copied whole."""
    return job.size >= LARGE or job.checkpoint is not None


def _tasks(items: list, alone: Callable[[object], bool]) -> list[list]:
    """Pool tasks: one per item for which `alone` is true (large files), SMALL_CHUNK of the others per task."""
    rest = [item for item in items if not alone(item)]
    return [[item] for item in items if alone(item)] + [rest[i : i + SMALL_CHUNK] for i in range(0, len(rest), SMALL_CHUNK)]


def _collect(finishing, done: list[FileRecord], errors: list[BaseException]) -> None:
    records, failed = finishing.result()
    done.extend(records)
    errors.extend(failed)


def _check_size(item: _Written, stat: os.stat_result) -> None:
    if stat.st_size != item.size:
        raise VerifyMismatch(item.job.rel, f"destination holds {stat.st_size} bytes, {item.size} were read")
    item.dst_mtime_ns = stat.st_mtime_ns


def _verify_samples(items: list[_Written]) -> None:
    """Compare the sample blocks read back from storage with the source bytes. Every file's blocks are first
    dropped from the page cache and then requested at once (WILLNEED), so the reads from storage overlap."""
    opened = []
    try:
        for item in items:
            if item.failed:
                continue
            try:
                fh = open(item.tmp, "rb", buffering=0)
            except BaseException as exc:  # noqa: BLE001 - reported per file
                item.failed = exc
                continue
            opened.append((item, fh))
            try:
                _check_size(item, os.fstat(fh.fileno()))
                for start, block in item.samples.items():
                    _drop_cache(fh.fileno(), start, len(block))
                    _prefetch(fh.fileno(), start, len(block))
            except BaseException as exc:  # noqa: BLE001
                item.failed = exc
        for item, fh in opened:
            if item.failed:
                continue
            try:
                for start, expected in item.samples.items():
                    if _read_at(fh, start, len(expected)) != expected:
                        raise VerifyMismatch(item.job.rel, f"destination bytes at offset {start} differ from the source")
            except BaseException as exc:  # noqa: BLE001
                item.failed = exc
    finally:
        for _, fh in opened:
            fh.close()


def _batches(jobs: list[CopyJob]) -> Iterable[list[CopyJob]]:
    batch, size = [], 0
    for job in jobs:
        batch.append(job)
        size += job.size
        if len(batch) >= BATCH_FILES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _read_into(src, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = src.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def _pwrite(fh, view: memoryview, offset: int) -> None:
    if hasattr(os, "pwrite"):
        while len(view):
            n = os.pwrite(fh.fileno(), view, offset)
            view, offset = view[n:], offset + n
    else:  # Windows: only this thread writes this file, so seeking is safe
        fh.seek(offset)
        fh.write(view)


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # the share vanished or is read-only: nothing more to do here
        pass


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _drop_cache(fd: int, offset: int = 0, length: int = 0) -> None:
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


class _ReadAhead:
    """Keeps the next READ_AHEAD source files open with a read requested from the OS (posix_fadvise WILLNEED),
    so that one thread copying small files one by one still has many reads in flight. Where a file cannot be
    opened here, or the OS has no posix_fadvise, `take` gives None and the copy opens the file itself."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths if hasattr(os, "posix_fadvise") else []
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
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass  # only a hint
        return fd


def _read_whole(fd: int, size: int) -> bytes:
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


def _prefetch(fd: int, offset: int, length: int) -> None:
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_WILLNEED)


def _read_at(fh, start: int, length: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fh.fileno(), length, start)
    fh.seek(start)  # Windows
    return fh.read(length)


def file_hash(fh, algorithm: str, *, uncached: bool = False, chunk: int = CHUNK, on_bytes: Callable[[int], None] | None = None) -> str:
    """Hash an open binary file from its start; `uncached` first drops its pages so the bytes come from storage."""
    if uncached:
        _drop_cache(fh.fileno())
    fh.seek(0)
    hasher = hasher_new(algorithm)
    buf = bytearray(chunk)
    view = memoryview(buf)
    while n := fh.readinto(view):
        hasher.update(view[:n])
        if on_bytes:
            on_bytes(n)
    return hasher.hexdigest()


def _syncfs_batch(items: list[_Written]) -> bool:
    """Linux: one syncfs() per destination file system makes a whole batch of small files durable at once,
    where one fsync per file costs a journal commit each. False elsewhere: fsync each file."""
    if not items:
        return True
    if _LIBC is None:
        return False
    for folder in {item.tmp.parent for item in items}:
        fd = os.open(folder, os.O_RDONLY)
        try:
            if _LIBC.syncfs(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"syncfs {folder}: {os.strerror(err)}")
        finally:
            os.close(fd)
        break  # all folders of a batch live in one session, on one file system
    for item in items:
        item.synced = True
    return True


def _libc_with_syncfs():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc if hasattr(libc, "syncfs") else None
    except OSError:
        return None


_LIBC = _libc_with_syncfs()


def _fsync_path(path: Path) -> None:
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


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, CopyError) else f"{type(exc).__name__}: {exc}"
