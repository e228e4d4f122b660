"""The preflight: estimated series size and time against free space, in its three modes."""

from __future__ import annotations

import pytest

from rigs.spool import PreflightError, SpoolController
from rigs.spool.preflight import estimate

from .conftest import Recorder, camera, settings

MB = 1_000_000
FRAME = 48 * 64 * 2


def test_estimate_counts_frames_size_and_time():
    report = estimate(frame_bytes=8 * MB, fps=100, max_frames=1000, free_bytes=20_000 * MB, reserve_bytes=0)
    assert report.ok and report.frames == 1000
    assert 8000 * MB <= report.estimated_bytes < 8001 * MB
    assert report.estimated_seconds == 10


def test_estimate_without_frame_limit_uses_the_assumed_duration():
    report = estimate(frame_bytes=8 * MB, fps=100, max_frames=None, free_bytes=10_000 * MB, reserve_bytes=0,
                      default_seconds=60)
    assert not report.ok and report.frames == 6000 and "short by" in report.message


def _controller(free: int, recorder: Recorder) -> SpoolController:
    return SpoolController(camera(), on_event=recorder, free_space=lambda _path: free)


def test_abort_refuses_and_creates_no_file(tmp_path):
    recorder = Recorder()
    with pytest.raises(PreflightError, match="does not fit"):
        _controller(50 * FRAME, recorder).start(settings(tmp_path, preflight="abort", max_frames=100))
    assert list(tmp_path.iterdir()) == []
    assert recorder.names() == ["spool.refused"]


def _frames_in(path: str) -> int:
    import h5py

    with h5py.File(path, "r") as f:
        return f["ImageData"].shape[0]


def test_warn_starts_anyway_and_says_why(tmp_path):
    recorder = Recorder()
    controller = _controller(10 * FRAME, recorder)
    controller.start(settings(tmp_path, preflight="warn", max_frames=20))
    result = controller.wait(30)
    assert recorder.names()[:2] == ["spool.warning", "spool.started"]
    assert "does not fit" in recorder.first("spool.warning")["reason"]
    # Started anyway; the writer still never writes past the free space: a clean stop, every frame reported there.
    assert result["reason"] in ("max_frames", "disk_full") and result["frames"] == _frames_in(result["file"])


def test_skip_does_not_check(tmp_path):
    recorder = Recorder()
    controller = _controller(10 * FRAME, recorder)  # 20 frames do not fit, but nobody asks
    controller.start(settings(tmp_path, preflight="skip", max_frames=20, reserve_mb=0))
    result = controller.wait(30)
    assert "spool.warning" not in recorder.names() and "spool.refused" not in recorder.names()
    assert result["reason"] in ("max_frames", "disk_full") and result["frames"] == _frames_in(result["file"])


def test_abort_passes_when_it_fits(tmp_path):
    controller = _controller(10_000 * FRAME, Recorder())
    controller.start(settings(tmp_path, preflight="abort", max_frames=5))
    assert controller.wait(30)["outcome"] == "ok"
