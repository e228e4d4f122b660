"""Interrupted copies: kill -9 of a real copier process, a read-only server, a full server."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rigs.copier import CopyState, session_initialize, session_state, transfer
from rigs.copier.journal import Journal
from rigs.layout import TRANSFER_FLAG

from .conftest import LARGE_EPHYS_SESSION, content, make_session, throttled_copier, tree


def _kill_when(journal_path: Path, proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGKILL once the journal holds a committed file and a checkpoint of a file still being copied."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files, checkpoints = Journal(journal_path).load()
        if files and checkpoints:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        if proc.poll() is not None:
            pytest.fail("the copier finished before it could be killed")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("the copier never reached a checkpoint")


def test_kill_9_mid_copy_then_rerun_copies_only_the_rest(local, remote, tmp_path):
    files = dict(LARGE_EPHYS_SESSION)
    session = make_session(local, "ephys", files=files)
    total = sum(files.values())
    proc = throttled_copier(tmp_path, session, remote)
    journal = remote / "ZM_001" / "2024-05-01" / "001" / "_devices" / "2024-05-01_1_ZM_001@ephys.journal.jsonl"
    _kill_when(journal, proc)

    done, checkpoints = Journal(journal).load()
    server = remote / "ZM_001" / "2024-05-01" / "001"
    resumable = sum(cp.offset for cp in checkpoints.values()
                    if (server / cp.path).with_name(cp.tmp).stat().st_size >= cp.offset)
    missing = total - sum(r.size for r in done.values()) - resumable
    assert 0 < missing < total and resumable > 0
    assert session_state(session, remote_subjects=remote, tag="ephys").state == CopyState.PENDING

    result = transfer(session, remote_subjects=remote, tag="ephys")
    assert result.outcome == "finalized", result.error
    assert result.bytes_copied == missing  # only what was not verified or checkpointed
    assert result.files_copied == len(files) - len(done)
    sent = {k: v for k, v in content(session).items() if not k.startswith("_ibl_experiment")}
    assert {k: v for k, v in content(server).items() if k.startswith("raw_ephys_data/")} == sent
    assert not list(server.rglob("*labweb-tmp")) and not journal.exists()


@pytest.fixture
def tmpfs(tmp_path):
    """A small real file system we can fill or remount read-only (root bypasses chmod, so chmod proves nothing)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs (chmod cannot make a folder read-only for root)")
    mount = tmp_path / "mnt"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (no CAP_SYS_ADMIN)")
    (mount / "Subjects").mkdir()
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _remount(mount: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(mount)], check=True)


def test_read_only_server_is_a_clean_error_and_changes_nothing(local, tmpfs):
    remote = tmpfs / "Subjects"
    session = make_session(local, "video")
    session_initialize(session, remote_subjects=remote, tag="video")
    other = make_session(local, "video", subject="ZM_002")  # never registered
    _remount(tmpfs, "ro")
    before = tree(local), tree(remote)
    for s, state in ((session, CopyState.PENDING), (other, CopyState.NOT_REGISTERED)):
        result = transfer(s, remote_subjects=remote, tag="video")
        assert result.outcome == "failed" and "Read-only file system" in result.error
        assert result.state_before == result.state_after == state
    assert (tree(local), tree(remote)) == before
    assert (session / TRANSFER_FLAG).exists()


def test_full_server_is_a_clean_error_then_resumes_when_space_is_back(local, tmpfs):
    remote = tmpfs / "Subjects"
    files = {"raw_video_data/a.mp4": 3_000_000, "raw_video_data/b.mp4": 3_000_000}
    session = make_session(local, "video", files=files)
    session_initialize(session, remote_subjects=remote, tag="video")
    local_before = tree(local)
    result = transfer(session, remote_subjects=remote, tag="video")
    assert result.outcome == "failed" and "No space left" in result.error
    assert tree(local) == local_before
    assert session_state(session, remote_subjects=remote, tag="video").state == CopyState.PENDING
    assert not list(remote.rglob("*labweb-tmp"))  # the partial file was removed, freeing the space
    _remount(tmpfs, "size=16m")
    again = transfer(session, remote_subjects=remote, tag="video")
    assert again.outcome == "finalized"
    assert again.bytes_copied == sum(files.values()) - 3_000_000 * result.files_copied
    assert content(remote / "ZM_001" / "2024-05-01" / "001", "raw_video_data") == {
        f"raw_video_data/{k.split('/')[-1]}": v for k, v in content(session, "raw_video_data").items()}
