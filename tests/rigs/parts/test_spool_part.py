"""The agent's camera part with a real synthetic camera and real HDF5 files: commands, refusals, previews, and
the camera's share of a session."""

from __future__ import annotations

import h5py
import pytest

from rigs.config import config_from_dict
from rigs.link import CommandFailed
from rigs.parts.spool import SpoolPart


@pytest.fixture
def spool(tmp_path):
    previews = []
    events = []
    config = config_from_dict({"name": "cam-left", "camera": {"source": "synthetic", "shape": [32, 48], "fps": 200,
                                                              "label": "left"},
                               "spool": {"compression": "blosc-lz4", "buffer_mb": 8}})
    part = SpoolPart(config.camera, rig="cam-left", defaults=config.spool, spool_root=tmp_path / "spool",
                     emit=lambda name, data: events.append((name, data)), preview=previews.append)
    part.previews, part.events = previews, events
    yield part
    part.controller.close()


async def test_an_operator_starts_and_stops_a_series_with_remote_settings(spool, tmp_path):
    started = await spool.spool_start({"compression": "blosc-zstd", "max_frames": 1000})
    assert started["compression"] == "blosc-zstd" and started["file"].startswith(str(tmp_path / "spool"))
    assert spool.status().active
    stopped = await spool.spool_stop({})
    assert stopped["outcome"] == "ok" and stopped["frames"] > 0
    with h5py.File(stopped["file"], "r") as f:
        assert f["ImageData"].shape == (stopped["frames"], 32, 48)
    with pytest.raises(CommandFailed, match="not spooling"):
        await spool.spool_stop({})


@pytest.mark.parametrize(("params", "reason"), [
    ({"directory": "/etc"}, "cannot be set remotely"),
    ({"buffer_mb": 1}, "cannot be set remotely"),
    ({"compression": "lzma"}, "bad spool settings"),
])
async def test_settings_an_operator_may_not_give_are_refused_with_the_reason(spool, params, reason):
    with pytest.raises(CommandFailed, match=reason):
        await spool.spool_start(params)
    assert not spool.status().active


async def test_a_camera_can_be_checked_without_recording(spool, tmp_path):
    """Focus and framing before a session: one frame, straight from the camera, and nothing written."""
    answer = await spool.preview_now({})
    assert answer == {"width": 48, "height": 32, "checked": True}
    [preview] = spool.previews
    assert preview["png"] and (preview["width"], preview["height"]) == (48, 32)
    assert not spool.status().active and not (tmp_path / "spool").exists()
    await spool.spool_start({})  # the camera was closed again: a series starts as usual
    await spool.spool_stop({})


async def test_in_a_session_the_camera_spools_into_raw_video_data_under_its_label(spool, tmp_path):
    session = tmp_path / "Subjects" / "mouse" / "2026-01-02" / "001"
    started = await spool.session_started(session, "2026-01-02_1_mouse")
    assert started["file"] == str(session / "raw_video_data" / "_labweb_leftCamera.raw.h5")
    ended = await spool.session_ended()
    assert ended["frames"] > 0 and await spool.session_ended() == {}  # a second end is a no-op
    assert {d.get("exp_ref") for n, d in spool.events if n.startswith("spool.")} == {"2026-01-02_1_mouse"}
    assert spool.description(main_sync=False)["devices"]["cameras"]["left"]["collection"] == "raw_video_data"
