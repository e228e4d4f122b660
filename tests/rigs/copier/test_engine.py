"""The copy engine on many small files: batches, one copying thread or the pool, changed sources, the manifest."""

from __future__ import annotations

import os
import threading

import blake3

from rigs.copier import CopyEngine, fileio, manifest_read, transfer
from rigs.copier import engine as engine_module

from .conftest import content, make_session
from .test_transfer import server_session

KiB, MiB = 1 << 10, 1 << 20
DESCRIPTION = {"version": "1.0.0", "devices": {"cameras": {"left": {"collection": "raw_video_data"}}}}


def _small_files(count: int) -> dict[str, int]:
    # empty, tiny, whole-file read-back (<= 192 KiB), sampled read-back (> 192 KiB), in several folders
    sizes = [0, 1, 4 * KiB, 64 * KiB, 200 * KiB, 64 * KiB + 7]
    return {f"raw_video_data/cam{i % 5}/part_{i:04d}.bin": sizes[i % len(sizes)] for i in range(count)}


def _threads_used(monkeypatch) -> set[str]:
    names: set[str] = set()
    real = engine_module.CopyEngine._write

    def spy(self, job, *args, **kwargs):
        names.add(threading.current_thread().name)
        return real(self, job, *args, **kwargs)

    monkeypatch.setattr(engine_module.CopyEngine, "_write", spy)
    return names


def test_many_small_files_over_several_batches_are_identical_and_in_the_manifest(local, remote, monkeypatch):
    monkeypatch.setattr(engine_module, "BATCH_FILES", 64)
    monkeypatch.setattr(engine_module, "SLOW_FILE", 60.0)  # a fast local disk, however busy the test machine
    files = {**_small_files(300), "raw_video_data/_iblrig_leftCamera.raw.mp4": 17 * MiB}
    session = make_session(local, "video", description=DESCRIPTION, files=files)
    threads = _threads_used(monkeypatch)
    result = transfer(session, remote_subjects=remote, tag="video")
    assert result.outcome == "finalized", result.error
    assert (result.files_copied, result.bytes_copied) == (len(files), sum(files.values()))
    server = server_session(remote)
    assert content(server, "raw_video_data") == content(session, "raw_video_data")
    assert not list(server.rglob("*labweb-tmp")) and not list(server.rglob("*.journal.jsonl"))
    manifest = manifest_read(result.manifest)
    assert {e.path: (e.size, e.hash) for e in manifest.files} == {
        rel: (size, blake3.blake3((session / rel).read_bytes()).hexdigest()) for rel, size in files.items()}
    # the manifest keeps one line per file, so an operator can grep it
    assert sum('"path"' in line for line in open(result.manifest, encoding="utf-8")) == len(files)
    # on a fast disk the small files are copied by the calling thread; only the large file goes to the pool
    assert len(threads) == 2


def test_slow_small_files_are_spread_over_the_pool_with_the_same_result(local, remote, monkeypatch):
    monkeypatch.setattr(engine_module, "BATCH_FILES", 40)
    monkeypatch.setattr(engine_module, "SLOW_FILE", 0.0)  # every batch looks like a slow network share
    files = _small_files(200)
    session = make_session(local, "video", description=DESCRIPTION, files=files)
    threads = _threads_used(monkeypatch)
    result = transfer(session, remote_subjects=remote, tag="video", engine=CopyEngine(workers=3))
    assert result.outcome == "finalized", result.error
    assert content(server_session(remote), "raw_video_data") == content(session, "raw_video_data")
    assert len({name for name in threads if name.startswith("copier")}) > 1


def test_a_small_file_changed_while_copied_is_not_committed_and_the_rerun_takes_it(local, remote, monkeypatch):
    monkeypatch.setattr(engine_module, "BATCH_FILES", 16)
    files = _small_files(50)
    session = make_session(local, "video", description=DESCRIPTION, files=files)
    victim = session / "raw_video_data/cam3/part_0013.bin"
    real = fileio.read_whole

    def writer_still_busy(fd, size):  # the acquisition program appends to the file while we read it
        data = real(fd, size)
        if os.path.samestat(os.fstat(fd), victim.stat()):
            with open(victim, "ab") as fh:
                fh.write(b"late frame")
        return data

    monkeypatch.setattr(fileio, "read_whole", writer_still_busy)
    result = transfer(session, remote_subjects=remote, tag="video")
    assert result.outcome == "failed" and "cam3/part_0013.bin" in result.error and "changed" in result.error
    video = server_session(remote) / "raw_video_data"
    assert not (video / "cam3/part_0013.bin").exists() and not list(video.rglob("*labweb-tmp"))
    assert result.files_copied >= 1  # the other files of its batch were committed and journaled
    monkeypatch.setattr(fileio, "read_whole", real)
    again = transfer(session, remote_subjects=remote, tag="video")
    assert again.outcome == "finalized", again.error
    assert again.files_copied == len(files) - result.files_copied
    assert content(server_session(remote), "raw_video_data") == content(session, "raw_video_data")
