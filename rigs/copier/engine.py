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

import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigs.copier import fileio
from rigs.copier.errors import CopyCancelled, CopyError, CopyFailed, SourceChanged, VerifyMismatch
from rigs.copier.fileio import CHUNK, O_BINARY, ReadAhead, Writer, file_hash, fsync_dir, fsync_path, tmp_path
from rigs.copier.hashes import DEFAULT_ALGORITHM, hasher_new
from rigs.copier.journal import Checkpoint, FileRecord, Journal
from rigs.copier.progress import ProgressTracker
from rigs.copier.readback import SAMPLE, Sampler, check_size, verify_samples

__all__ = ["CopyCancelled", "CopyEngine", "CopyError", "CopyFailed", "CopyJob", "SourceChanged", "VerifyMismatch",
           "file_hash", "fsync_dir", "tmp_path"]

LARGE = 16 << 20  # files from this size stream through the reader/writer pipeline and fsync on their own
BATCH_FILES = 256
BATCH_BYTES = 2 << 30
CHECKPOINT_BYTES = 512 << 20
SMALL_CHUNK = 16  # small files per pool task, once they are spread over the pool
SLOW_FILE = 0.002  # seconds per small file from which a batch's small files are worth several threads
READBACK_WINDOW = 64  # files whose sample blocks are read back together (and so many open at once)


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
        ahead = ReadAhead([job.source for job in jobs] if len(jobs) > 1 else [])
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
                verify_samples(written[i : i + READBACK_WINDOW])
        for item in written:
            if item.failed:
                fileio.unlink_quietly(item.tmp)
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
            fileio.unlink_quietly(tmp)  # free the space (disk full) and leave nothing half-written behind
            raise

    def _write_small(self, job: CopyJob, tmp: Path, progress, src_fd: int | None) -> _Written | None:
        """Read the whole file once, hash those bytes, write them; None if it has grown large since the plan."""
        fd = os.open(job.source, os.O_RDONLY | O_BINARY) if src_fd is None else src_fd
        try:
            before = os.fstat(fd)
            if before.st_size >= LARGE:
                return None
            data = fileio.read_whole(fd, before.st_size)
            after = os.fstat(fd)
        finally:
            if src_fd is None:
                os.close(fd)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or len(data) != before.st_size:
            raise SourceChanged(job.rel, "source changed while it was copied")
        hasher = hasher_new(self.algorithm)
        hasher.update(data)
        with open(tmp, "wb", buffering=0) as dst:
            fileio.pwrite(dst, memoryview(data), 0)
        self._count(len(data), progress)
        if len(data) <= 3 * SAMPLE:
            samples = {0: data} if data else {}  # the whole file is read back: keep the bytes, no copy
        else:
            sampler = Sampler(len(data))
            sampler.take(0, memoryview(data))
            samples = sampler.blocks
        return _Written(job, tmp, len(data), hasher.hexdigest(), before.st_mtime_ns, samples)

    def _write_resumable(self, job, tmp, journal, progress) -> _Written:
        cp = job.checkpoint
        usable = cp is not None and cp.algorithm == self.algorithm and fileio.size_of(tmp) >= cp.offset
        return self._write_from(job, tmp, cp.offset if usable else 0, cp if usable else None, journal, progress)

    def _write_from(self, job, tmp, resume_at, cp, journal, progress) -> _Written:
        hasher = hasher_new(self.algorithm)
        with open(job.source, "rb", buffering=0) as src:
            before = os.fstat(src.fileno())
            if cp and (before.st_size != cp.src_size or before.st_mtime_ns != cp.src_mtime_ns):
                resume_at, cp = 0, None
            sampler = Sampler(before.st_size)
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
        writer = Writer(src.fileno(), dst, self.chunk, self.kernel_copy)
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
                count = fileio.read_into(src, memoryview(buf)[:limit])
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
                fsync_path(item.tmp)
                item.synced = True
            except BaseException as exc:  # noqa: BLE001 - reported per file
                item.failed = exc

    def _verify_full_many(self, items: list[_Written]) -> None:
        for item in items:
            if item.failed:
                continue
            try:
                with open(item.tmp, "rb", buffering=0) as fh:
                    check_size(item, os.fstat(fh.fileno()))
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


def _streams(job: CopyJob) -> bool:
    """Large files and resumed ones go through the reader/writer pipeline; the rest are copied whole."""
    return job.size >= LARGE or job.checkpoint is not None


def _tasks(items: list, alone: Callable[[Any], bool]) -> list[list]:
    """Pool tasks: one per item for which `alone` is true (large files), SMALL_CHUNK of the others per task."""
    rest = [item for item in items if not alone(item)]
    return [[item] for item in items if alone(item)] + [rest[i : i + SMALL_CHUNK] for i in range(0, len(rest), SMALL_CHUNK)]


def _collect(finishing, done: list[FileRecord], errors: list[BaseException]) -> None:
    records, failed = finishing.result()
    done.extend(records)
    errors.extend(failed)


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


class _Restart(Exception):
    """The resumed prefix no longer matches the source: copy the file from its first byte."""


def _syncfs_batch(items: list[_Written]) -> bool:
    """Linux: one syncfs() per destination file system makes a whole batch of small files durable at once,
    where one fsync per file costs a journal commit each. False elsewhere: fsync each file."""
    if not items:
        return True
    # all folders of a batch live in one session, on one file system: one syncfs covers them
    if not fileio.syncfs(items[0].tmp.parent):
        return False
    for item in items:
        item.synced = True
    return True
