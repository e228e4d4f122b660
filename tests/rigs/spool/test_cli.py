"""`labweb-rig spool` as a real subprocess: one series, progress, clean Ctrl-C, preflight refusal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import h5py
import pytest

from rigs.spool import is_complete

from .conftest import PYTHON, REPO, subprocess_env

SPOOL = [PYTHON, "-m", "rigs.cli", "spool", "--shape", "48x64", "--buffer-mb", "8", "--reserve-mb", "0"]


def test_one_series_with_progress_and_a_json_result(tmp_path):
    done = subprocess.run(SPOOL + ["--out", str(tmp_path), "--fps", "60", "--frames", "90",
                                   "--compression", "blosc-zstd", "--meta", "Sample.Name=m7", "--mirror",
                                   str(tmp_path / "mirror")],
                          cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["frames"] == 90 and result["outcome"] == "ok" and result["hooks"][0]["ok"]
    assert "fps" in done.stderr and "ratio" in done.stderr and "dropped 0" in done.stderr
    with h5py.File(result["file"], "r") as f:
        assert f["ImageData"].shape == (90, 48, 64)
        assert f["MetaData/Sample"].attrs["Name"] == b"m7"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signal delivery")
def test_ctrl_c_stops_cleanly_with_a_complete_file(tmp_path):
    proc = subprocess.Popen(SPOOL + ["--out", str(tmp_path), "--fps", "200"], cwd=REPO, env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("frames") and int(line.split()[1]) > 50:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["reason"] == "requested" and result["frames"] > 50 and is_complete(result["file"])


def test_preflight_refusal_exits_2_and_writes_nothing(tmp_path):
    done = subprocess.run(SPOOL[:-2] + ["--reserve-mb", "1e12", "--out", str(tmp_path), "--frames", "10"],
                          cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "preflight refused" in done.stderr
    assert list(tmp_path.iterdir()) == []
