"""Two transfers of one session at once: the second waits for the first or is refused, naming the holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rigs.copier import transfer
from rigs.copier.lock import TransferBusy, lock_path, transfer_lock

from .conftest import make_session

REPO = Path(__file__).resolve().parents[3]


def _holder(session: Path, tag: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "tests.rigs.copier.lock_holder", str(session), tag], cwd=REPO,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_transfer_is_refused_with_the_holder_named_then_runs_once_the_first_ends(tmp_path):
    session = make_session(tmp_path / "local", "video")
    first = _holder(session, "video")
    try:
        with pytest.raises(TransferBusy, match=f"process {first.pid} on") as busy, transfer_lock(session, "video"):
            pass
        assert busy.value.holder["pid"] == first.pid
        with transfer_lock(session, "ephys"):  # another device of the same session is not held up
            pass
    finally:
        first.stdin.close()
        first.wait(timeout=10)
    with transfer_lock(session, "video", wait=10):
        pass
    assert not lock_path(session, "video").exists()  # nothing left behind in the session


def test_a_waiting_transfer_runs_when_the_first_ends(tmp_path):
    session = make_session(tmp_path / "local", "video")
    first = _holder(session, "video")
    threading.Timer(0.5, first.stdin.close).start()
    try:
        with transfer_lock(session, "video", wait=30):
            assert first.wait(timeout=10) == 0  # the first had finished before the second got in
    finally:
        first.kill()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    session = make_session(tmp_path / "local", "video")
    first = _holder(session, "video")
    first.send_signal(signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
    first.wait(timeout=10)
    with transfer_lock(session, "video"):
        pass


def test_two_real_transfers_at_once_one_copies_and_the_other_is_refused_clearly(tmp_path):
    """Through the lock, two transfers of one session started together: one copies the session, the other is
    refused with a clear reason and changes nothing; run again, it finds everything verified."""
    session = make_session(tmp_path / "local", "video")
    remote = tmp_path / "remote"
    remote.mkdir()
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def run() -> None:  # transfer() takes the lock itself, waiting for nobody here
        start.wait()
        outcomes.append(transfer(session, remote_subjects=remote, tag="video", lock_wait=0))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    results = [o for o in outcomes if o.ok]
    refusals = [o for o in outcomes if not o.ok]
    # Either the two overlapped (one refused) or the first finished before the second took the lock.
    assert len(results) + len(refusals) == 2 and results, [r.error for r in refusals]
    assert all("another transfer of 1 (video) is running" in r.error for r in refusals)
    again = transfer(session, remote_subjects=remote, tag="video")
    assert again.ok and again.files_copied == 0
