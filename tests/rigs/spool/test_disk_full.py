"""Free space is watched during the series: it stops cleanly, with a complete file and a clear error."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import h5py
import numpy as np
import pytest

from rigs.spool import is_complete

from .conftest import camera

FRAME = 48 * 64 * 2


def test_stops_before_the_probe_reports_full(run_series, tmp_path):
    """An injected probe: the 'disk' is 300 frames' worth, the reserve 100 frames' worth."""
    data = tmp_path / "data"
    capacity = 300 * FRAME

    def free(_path: Path) -> int:
        used = sum(p.stat().st_size for p in data.glob("*.h5"))
        return capacity - used

    result, recorder = run_series(camera(fps=2000), free_space=free, compression="none", max_frames=5000,
                                  reserve_mb=100 * FRAME / 1e6)
    assert result["reason"] == "disk_full" and result["outcome"] == "failed"
    assert "disk nearly full" in result["error"]
    assert 50 < result["frames"] < 200
    assert is_complete(result["file"])
    with h5py.File(result["file"], "r") as f:
        assert f["ImageData"].shape[0] == result["frames"]
        assert f["MetaData/Spool"].attrs["StopReason"] == b"disk_full"
    assert recorder.names()[-1] == "spool.failed"


def _mount_tmpfs(where: Path, size_mb: int) -> bool:
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        return False
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", f"spool-{uuid.uuid4().hex[:6]}",
                           str(where)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def tiny_fs(tmp_path):
    mount = tmp_path / "tiny"
    if not _mount_tmpfs(mount, 16):
        pytest.skip("cannot mount a 16 MB tmpfs here (needs root on Linux)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_real_small_filesystem_ends_with_a_valid_file(run_series, tiny_fs):
    """A real 16 MB filesystem and incompressible-enough frames: the series stops before ENOSPC."""
    cam = camera(fps=3000, shape=(128, 128))
    result, _ = run_series(cam, directory=tiny_fs, compression="blosc-lz4", max_frames=100_000, reserve_mb=2,
                           buffer_mb=2)
    assert result["reason"] == "disk_full", result
    assert shutil.disk_usage(tiny_fs).free > 1_000_000
    with h5py.File(result["file"], "r") as f:
        frames = f["ImageData"].shape[0]
        assert frames == result["frames"] > 100
        last = int(f["FrameInfo"]["FrameNum"][-1])  # the camera outruns a 2 MB buffer: some frames dropped
        np.testing.assert_array_equal(f["ImageData"][frames - 1], cam.frame(last))
    assert is_complete(result["file"])
