"""The replay source: frames of an existing file become a new series, and the series ends with the file."""

from __future__ import annotations

import h5py
import numpy as np

from rigs.spool import ReplaySource, source_from_config

from .conftest import camera


def test_replay_reproduces_a_recorded_series(run_series, tmp_path):
    cam = camera()
    recorded, _ = run_series(cam, max_frames=25, compression="blosc-zstd")
    replay = source_from_config({"source": f"replay:{recorded['file']}"})
    assert isinstance(replay, ReplaySource) and replay.shape == cam.shape
    result, _ = run_series(replay, directory=tmp_path / "replayed", max_frames=None)
    assert result["reason"] == "end_of_source" and result["outcome"] == "ok" and result["frames"] == 25
    with h5py.File(recorded["file"], "r") as a, h5py.File(result["file"], "r") as b:
        np.testing.assert_array_equal(a["ImageData"][:], b["ImageData"][:])
        assert b["MetaData/Camera"].attrs["ADOffset"] == a["MetaData/Camera"].attrs["ADOffset"]
        assert b["MetaData/Camera"].attrs["Name"] == b"ReplaySource"


def test_looping_replay_runs_past_the_end(run_series, tmp_path):
    recorded, _ = run_series(max_frames=4)
    result, _ = run_series(ReplaySource(recorded["file"], loop=True), directory=tmp_path / "loop", max_frames=10)
    with h5py.File(recorded["file"], "r") as a, h5py.File(result["file"], "r") as b:
        np.testing.assert_array_equal(b["ImageData"][9], a["ImageData"][1])
