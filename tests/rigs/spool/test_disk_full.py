"""Free space is watched during the series: it stops cleanly, with a complete file and a clear error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import h5py
import numpy as np
import pytest

from rigs.spool import SyntheticCamera, is_complete

from .conftest import REPO, camera, subprocess_env
from .diskfull_process import SHAPE as DISK_FULL_SHAPE

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


@pytest.fixture
def small_fs(tmp_path):
    mount = tmp_path / "small"
    if not _mount_tmpfs(mount, 40):
        pytest.skip("cannot mount a 40 MB tmpfs here (needs root on Linux)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


# compression, swmr, reserve_mb, fps, filler: HDF5's own driver (swmr) and the O_DIRECT one, a camera faster than
# the disk and one slower than the filler that races it, and no reserve at all (the case that crashed HDF5).
DISK_FULL_RUNS = [
    ("none", False, 0, 3000, False), ("blosc-lz4", False, 0, 3000, False),
    ("none", True, 0, 3000, False), ("blosc-lz4", True, 0.5, 3000, False),
    ("none", False, 0, 300, True), ("blosc-lz4", False, 0, 300, True),
    ("none", True, 0, 300, True), ("blosc-lz4", True, 1, 300, True),
]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mounts a tmpfs")
def test_disk_full_ends_every_series_with_a_readable_file_holding_what_was_reported(small_fs):
    """Issue 14: full disks crashed HDF5 (SIGSEGV) or left a file of 0 frames while N were reported. Each run
    fills a real 40 MB file system, in a process of its own: it must exit normally, and the file must open in
    h5py and PyTables and hold exactly the frames reported written, the last of them intact."""
    import tables

    from rigs.spool.reserve import SUFFIX

    outcomes = []
    for i, (compression, swmr, reserve_mb, fps, filler) in enumerate(DISK_FULL_RUNS):
        out = small_fs / f"run{i}"
        done = subprocess.run(
            [sys.executable, "-m", "tests.rigs.spool.diskfull_process", str(out), compression, "1" if swmr else "0",
             str(reserve_mb), str(fps), "1" if filler else "0"],
            cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=150)
        assert done.returncode == 0, f"run {i} ended with {done.returncode}: {done.stderr[-2000:]}"
        line = json.loads(done.stdout.strip().splitlines()[-1])
        result = line["result"]
        assert result["reason"] == "disk_full", (i, result)
        with h5py.File(result["file"], "r") as f:
            frames = f["ImageData"].shape[0]
            assert f["FrameInfo"].shape[0] == frames
            if frames:
                last = int(f["FrameInfo"]["FrameNum"][-1])
                np.testing.assert_array_equal(f["ImageData"][frames - 1], SyntheticCamera(DISK_FULL_SHAPE, "uint16").frame(last))
        with tables.open_file(result["file"]) as t:
            assert t.root.ImageData.shape[0] == frames
        assert result["frames"] == frames == line["reported"][-1] > 0, (i, result, line)
        assert not list(out.glob(f"*{SUFFIX}")), "the reserve must be given back"
        outcomes.append(frames)
        shutil.rmtree(out)
        for leftover in small_fs.glob("filler-*"):
            leftover.unlink()
    assert len(outcomes) == len(DISK_FULL_RUNS)


def test_the_reserve_is_held_while_spooling_and_given_back_at_the_end(tiny_fs):
    """The room for HDF5's close is the file's own, allocated past its end (readers see no difference), so no
    other process can take it; what is left is freed once the file is complete."""
    from rigs.spool import SpoolController
    from rigs.spool.reserve import METADATA_ROOM

    controller = SpoolController(camera(fps=50, shape=(64, 64)), rig="r")
    controller.start({"directory": str(tiny_fs / "d"), "preflight": "skip", "reserve_mb": 0, "buffer_mb": 2,
                      "compression": "none", "max_frames": 10**6})
    try:
        path = Path(controller.status().file)
        held = path.stat()
        assert held.st_blocks * 512 - held.st_size >= METADATA_ROOM - (64 << 10)  # give or take holes in the file
    finally:
        result = controller.stop()
    assert result["outcome"] == "ok"
    done = path.stat()
    assert done.st_blocks * 512 - done.st_size < METADATA_ROOM
    with h5py.File(path, "r") as f:
        assert f["ImageData"].shape[0] == result["frames"]


def test_a_reserve_file_where_the_file_system_cannot_allocate_ahead(tmp_path):
    from rigs.spool.reserve import SUFFIX, DiskReserve, stale_sweep

    series = tmp_path / "a_series.h5"
    reserve = DiskReserve(series, 3 << 20)
    reserve.create()
    assert reserve.path.name.endswith(SUFFIX) and reserve.path.stat().st_size == 3 << 20
    assert reserve.release() and not reserve.path.exists() and not reserve.release()
    left = DiskReserve(tmp_path / "killed.h5", 1 << 20)  # a spooler killed while it held its reserve
    left.create()
    stale_sweep(tmp_path)
    assert not left.path.exists()
