"""The agent-facing API: start/stop/status/preview, lifecycle events, thread safety, plug-in sources."""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib

import numpy as np
import pytest

from rigs.messages import encode, status_part
from rigs.spool import (
    RUNNING,
    FrameSource,
    SpoolBusy,
    SpoolController,
    SpoolSettings,
    is_complete,
    png_bytes,
    source_from_config,
)

from .conftest import Recorder, camera, settings


def on_the_wire(status) -> dict:
    """The status as the agent sends it, checked against the message schema the dashboard checks too."""
    message = {"type": "status", "rig": "cam-left", "time": 1.0, "state": "idle", "spool": status_part(status)}
    return json.loads(encode(message))["spool"]


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_status_while_running_follows_the_wire_contract(tmp_path):
    controller = SpoolController(camera(fps=200), on_event=Recorder())
    assert on_the_wire(controller.status())["state"] == "idle"
    controller.start(settings(tmp_path, max_frames=None))
    try:
        _wait_for(lambda: controller.status().fps > 0)
        status = on_the_wire(controller.status())
        assert status["active"] is True
        assert status["state"] == RUNNING and status["frames"] > 0 and status["ratio"] > 1
        assert 100 < status["fps"] < 300 and status["mb_s_in"] > 0 and status["disk_free"] > 0
        assert 0 <= status["queue_fill"] < 1 and status["seconds_to_full"] > 0
    finally:
        result = controller.stop()
    assert result["reason"] == "requested" and result["outcome"] == "ok" and is_complete(result["file"])
    assert controller.status().state == "finished" and not controller.status().active


def test_lifecycle_events_in_order(tmp_path):
    recorder = Recorder()
    controller = SpoolController(camera(), rig="cam-left", on_event=recorder)
    controller.start(settings(tmp_path, max_frames=5))
    controller.wait(10)
    assert recorder.names() == ["spool.started", "spool.stopped"]
    stopped = recorder.first("spool.stopped")
    assert stopped["rig"] == "cam-left" and stopped["frames"] == 5 and stopped["file"].endswith(".h5")
    json.dumps(recorder.events)


def test_second_start_while_running_is_refused(tmp_path):
    controller = SpoolController(camera(fps=100))
    controller.start(settings(tmp_path))
    try:
        with pytest.raises(SpoolBusy):
            controller.start(settings(tmp_path))
    finally:
        controller.stop()


def test_stop_from_many_threads_at_once(tmp_path):
    controller = SpoolController(camera(fps=200))
    controller.start(settings(tmp_path))
    _wait_for(lambda: controller.status().frames > 10)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(controller.stop())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len({r["file"] for r in results}) == 1 and all(r["complete"] for r in results)


def test_camera_failure_ends_series_with_a_complete_file_and_a_reason(tmp_path):
    class Failing(FrameSource):
        shape, dtype, fps = (8, 8), np.dtype("uint16"), None

        def __init__(self):
            self.n = 0

        def read_into(self, out, timeout):
            self.n += 1
            if self.n > 5:
                raise OSError("USB link lost")
            out[:] = self.n
            return time.time()

    recorder = Recorder()
    controller = SpoolController(Failing(), on_event=recorder)
    controller.start(settings(tmp_path))
    result = controller.wait(10)
    assert result["outcome"] == "failed" and "USB link lost" in result["error"] and result["frames"] == 5
    assert recorder.names()[-1] == "spool.failed" and is_complete(result["file"])


def test_preview_is_small_uint8_and_encodes_as_png(tmp_path):
    controller = SpoolController(camera(fps=100, shape=(600, 400)))
    assert controller.preview() is None
    controller.start(settings(tmp_path, buffer_mb=16))
    try:
        _wait_for(lambda: controller.preview() is not None)
        image = controller.preview(256)
    finally:
        controller.stop()
    assert image.dtype == np.uint8 and image.shape[0] == 256 and abs(image.shape[1] - 256 / 1.5) <= 1
    assert image.std() > 5  # structure, not a flat grey
    png = png_bytes(image)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    idat_len = struct.unpack(">I", png[33:37])[0]
    rows = np.frombuffer(zlib.decompress(png[41:41 + idat_len]), np.uint8).reshape(height, width + 1)
    np.testing.assert_array_equal(rows[:, 1:], image)


def test_settings_reject_unknown_keys_by_name():
    with pytest.raises(ValueError, match="exposure"):
        SpoolSettings.from_mapping({"directory": "x", "exposure": 3})
    with pytest.raises(ValueError, match="flush_interval_s"):
        SpoolSettings(directory="x", flush_interval_s=5)
    with pytest.raises(ValueError, match="compression"):
        SpoolSettings(directory="x", compression="lzma")


class PluginCamera(FrameSource):
    """A stand-in for a real driver, loaded by dotted path."""

    def __init__(self, shape=(4, 6), dtype="uint16", fps=None, level=7):
        self.shape, self.dtype, self.fps, self.level = tuple(shape), np.dtype(dtype), fps, level

    def read_into(self, out, timeout):
        out[:] = self.level
        return time.time()

    def metadata(self):
        return {"Camera.Name": "Plugin"}


def test_camera_plugin_by_dotted_path(run_series):
    source = source_from_config({"source": "tests.rigs.spool.test_controller:PluginCamera", "level": 9})
    assert isinstance(source, PluginCamera) and source.level == 9
    result, _ = run_series(source, max_frames=3, compression="none")
    import h5py

    with h5py.File(result["file"], "r") as f:
        assert f["ImageData"][2, 0, 0] == 9 and f["MetaData/Camera"].attrs["Name"] == b"Plugin"
