"""`labweb-rig transfer` and `labweb-rig verify` as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import make_session, tree

REPO = Path(__file__).resolve().parents[3]


def labweb_rig(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "rigs.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_transfer_dry_changes_nothing_anywhere(local, remote):
    make_session(local, "video")
    make_session(local, "video", subject="ZM_002", date="2024-05-02")
    before = tree(local), tree(remote)
    run = labweb_rig("transfer", "--tag", "video", "--local", str(local), "--remote", str(remote), "--dry")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 session(s) flagged" in run.stdout and run.stdout.count("DRY") == 2
    assert (tree(local), tree(remote)) == before


def test_transfer_shows_states_and_fails_if_any_session_failed(local, remote):
    make_session(local, "video")
    make_session(local, "video", subject="ZM.002")
    make_session(local, "video", subject="ZM_003", flag=False)  # not flagged: left alone
    run = labweb_rig("transfer", "--tag", "video", "--local", str(local), "--remote", str(remote))
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any(line.split()[:3] == ["before", "ZM_001/2024-05-01/1", "0"] for line in lines)
    assert any(line.split()[:3] == ["after", "ZM_001/2024-05-01/1", "3"] for line in lines)
    assert any(line.startswith("FAILED") and "ZM.002" in line and "dot" in line for line in lines)
    assert any(line.startswith("FINALIZED") and "ZM_001/2024-05-01/001" in line for line in lines)
    assert "B/s" in run.stderr  # the progress bar
    assert not (remote / "ZM_003").exists()


def test_verify_names_a_corrupt_file_and_exits_non_zero(local, remote):
    make_session(local, "behavior")
    assert labweb_rig("transfer", "--tag", "behavior", "--local", str(local), "--remote", str(remote)).returncode == 0
    server = remote / "ZM_001" / "2024-05-01" / "001"
    ok = labweb_rig("verify", "--remote", str(server))
    assert ok.returncode == 0 and "OK: 2/2" in ok.stdout
    target = server / "raw_task_data_00" / "_iblrig_taskData.raw.jsonable"
    data = bytearray(target.read_bytes())
    data[123] ^= 0xFF
    target.write_bytes(bytes(data))
    bad = labweb_rig("verify", "--remote", str(server))
    assert bad.returncode == 1
    assert "raw_task_data_00/_iblrig_taskData.raw.jsonable" in bad.stdout and "FAILED: 1/2" in bad.stdout
