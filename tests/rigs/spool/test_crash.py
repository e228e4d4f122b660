"""kill -9 of a real writer process: the file still opens and holds every frame up to the last flush."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import hdf5plugin  # noqa: F401
import numpy as np
import pytest
import tables

from rigs.spool import SyntheticCamera, is_complete

from .conftest import PYTHON, REPO, subprocess_env
from .writer_process import SHAPE

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")


class Writer:
    """The writer process; `flushed` is the last frames_flushed it printed."""

    def __init__(self, directory, compression: str, swmr: bool, shape: tuple[int, int] = SHAPE):
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "tests.rigs.spool.writer_process", str(directory), compression, "1" if swmr else "0",
             "x".join(map(str, shape))],
            cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE, text=True)
        self.file = json.loads(self.proc.stdout.readline())["file"]
        self.flushed = 0

    def wait_flushed(self, frames: int) -> int:
        while self.flushed < frames:
            line = self.proc.stdout.readline()
            assert line, "writer process ended early"
            self.flushed = int(line)
        return self.flushed

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no handler, no atexit, no flush
        self.proc.wait(10)
        self.proc.stdout.close()


def _check_frames(images: np.ndarray, at_least: int) -> None:
    camera = SyntheticCamera(images.shape[1:], "uint16", None)
    assert images.shape[0] >= at_least > 0
    for n in range(images.shape[0]):  # every frame in the extent is real data, none a zero fill
        np.testing.assert_array_equal(images[n], camera.frame(n))


# (64, 64) uint16 frames are two whole pages: uncompressed frames then go to their chunks with O_DIRECT.
@pytest.mark.parametrize("compression, shape", [("blosc-lz4", SHAPE), ("none", SHAPE), ("none", (64, 64))])
def test_killed_writer_leaves_a_file_plain_readers_open(tmp_path, compression, shape):
    writer = Writer(tmp_path, compression, swmr=False, shape=shape)
    try:
        flushed = writer.wait_flushed(250)
    finally:
        writer.kill()
    assert writer.proc.returncode == -9
    with h5py.File(writer.file, "r") as f:  # plain h5py: no swmr, no h5clear
        _check_frames(f["ImageData"][:], flushed)
        assert f["Events"][0]["EventName"] == b"StartAq"
        assert f["FrameInfo"].shape[0] >= flushed
    with tables.open_file(writer.file) as t:  # PyTables, hence PYME
        assert t.root.ImageData.shape[0] >= flushed
        assert t.root.MetaData.Camera._v_attrs.ADOffset == 100.0
    assert not is_complete(writer.file)


def test_killed_swmr_writer_opens_with_swmr_reader(tmp_path):
    writer = Writer(tmp_path, "blosc-lz4", swmr=True)
    try:
        flushed = writer.wait_flushed(150)
    finally:
        writer.kill()
    with h5py.File(writer.file, "r", swmr=True) as f:
        _check_frames(f["ImageData"][:], flushed)


def test_swmr_reader_follows_a_live_series(tmp_path):
    writer = Writer(tmp_path, "blosc-lz4", swmr=True)
    try:
        writer.wait_flushed(20)
        with h5py.File(writer.file, "r", swmr=True) as f:
            images = f["ImageData"]
            first = images.shape[0]
            writer.wait_flushed(first + 100)
            images.refresh()
            assert images.shape[0] >= first + 100
            _check_frames(images[:], first + 100)
    finally:
        writer.kill()
