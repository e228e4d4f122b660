"""Series-end hooks run in the background after a series closed and report their outcome."""

from __future__ import annotations

from rigs.spool import MirrorToFolder, SpoolController
from rigs.spool.hooks import HookRunner

from .conftest import Recorder, camera, settings


def test_mirror_copies_the_complete_file(run_series, tmp_path):
    result, recorder = run_series(hooks=[MirrorToFolder(tmp_path / "mirror")], max_frames=10)
    copy = tmp_path / "mirror" / result["file"].split("/")[-1]
    assert copy.read_bytes() == open(result["file"], "rb").read()
    outcome = recorder.first("spool.hook")
    assert outcome["hook"] == "mirror" and outcome["ok"] and "sha256" in outcome["detail"]
    assert not list((tmp_path / "mirror").glob("*.part"))


def test_failing_hook_is_reported_and_later_hooks_still_run(run_series, tmp_path):
    def broken(result):
        raise RuntimeError("share unreachable")

    broken.name = "copier"
    result, recorder = run_series(hooks=[broken, MirrorToFolder(tmp_path / "m")], max_frames=3)
    outcomes = [d for n, d in recorder.events if n == "spool.hook"]
    assert [(o["hook"], o["ok"]) for o in outcomes] == [("copier", False), ("mirror", True)]
    assert "share unreachable" in outcomes[0]["detail"]
    assert result["outcome"] == "ok"  # a hook's failure does not change the series


def test_mirror_never_overwrites(run_series, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    result, _ = run_series(max_frames=2)
    name = result["file"].split("/")[-1]
    (mirror / name).write_bytes(b"older copy")
    runner = HookRunner()
    from pathlib import Path

    from rigs.spool.result import SeriesResult

    series = SeriesResult(Path(result["file"]), 2, 0, 1, 1, 0.0, 1.0, "max_frames", None, True, "none")
    runner.submit([MirrorToFolder(mirror)], series)
    assert runner.wait(10)
    assert not runner.outcomes[0].ok and "not overwritten" in runner.outcomes[0].detail
    assert (mirror / name).read_bytes() == b"older copy"


def test_hooks_run_in_the_background(tmp_path):
    import threading

    release = threading.Event()

    def slow(result):
        release.wait(10)
        return "late"

    slow.name = "slow"
    controller = SpoolController(camera(), hooks=[slow], on_event=Recorder())
    controller.start(settings(tmp_path, max_frames=3))
    assert controller.wait(10)["outcome"] == "ok"  # the series ended while its hook still runs
    assert controller.wait_hooks(timeout=0.1) == []
    release.set()
    assert [o.detail for o in controller.wait_hooks(timeout=10)] == ["late"]
