"""Agents in a multi-rig session over the echo protocol on loopback: folders, spooling, flags and the timeline."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import h5py
import pytest

from rigs.agent import agent_build
from rigs.config import config_from_dict


def udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_agent(tmp_path, name, kind, *, camera=False, main_sync=False):
    data = {
        "name": name, "kind": kind, "echo": f"udp://127.0.0.1:{udp_port()}", "main_sync": main_sync,
        "state_dir": str(tmp_path / name / "state"),
        "data": {"local_subjects": str(tmp_path / name / "Subjects")},
    }
    if camera:
        data["camera"] = {"source": "synthetic", "shape": [64, 64], "dtype": "uint16", "fps": 50}
        data["spool"] = {"compression": "blosc-lz4"}
    return agent_build(config_from_dict(data))


def part_of(agent, key):
    return next(part for part in agent.parts if part.key == key)


def events(agent, name=None):
    rows = sqlite3.connect(agent.config.outbox_path).execute("SELECT name, data FROM events ORDER BY seq").fetchall()
    return [(n, json.loads(d)) for n, d in rows if name is None or n == name]


async def wait_for(predicate, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


@pytest.fixture
async def lab(tmp_path):
    behavior = make_agent(tmp_path, "behavior", "behavior", main_sync=True)
    camera = make_agent(tmp_path, "cam-left", "video", camera=True)
    runs = [asyncio.ensure_future(a.run()) for a in (behavior, camera)]
    await asyncio.sleep(0.3)
    yield behavior, camera
    for agent in (behavior, camera):
        agent.stop()
    await asyncio.wait_for(asyncio.gather(*runs), timeout=20)


def rigs_of(*agents):
    return {a.config.name: a.config.echo for a in agents}


async def test_a_main_rig_runs_a_whole_session_on_itself_and_a_camera_rig(lab):
    behavior, camera = lab
    started = await behavior.actions["session.start"]({"subject": "mouse_01", "rigs": rigs_of(behavior, camera)})
    session = part_of(behavior, "session")
    await wait_for(lambda: part_of(camera, "session").state == "running")
    exp_ref = part_of(camera, "session").echo.exp_ref
    assert exp_ref.endswith("_1_mouse_01") and started["rigs"] == ["behavior", "cam-left"]
    await wait_for(lambda: part_of(camera, "spool").status().frames > 10)
    await wait_for(lambda: session.status().main_exp_ref == exp_ref)  # every rig confirmed RUNNING

    await behavior.actions["session.stop"]({})
    assert session.status().main is False
    camera_dir = part_of(camera, "session").session_dir
    assert (camera_dir / "transfer_me.flag").exists()
    assert (camera_dir / "_ibl_experiment.description_video.yaml").exists()
    series = list((camera_dir / "raw_video_data").glob("*.h5"))
    assert len(series) == 1
    with h5py.File(series[0], "r") as f:
        assert f["ImageData"].shape[0] > 10
    assert (part_of(behavior, "session").session_dir / "_ibl_experiment.description_behavior.yaml").exists()

    spool_events = {n: d for n, d in events(camera) if n.startswith("spool.")}
    assert spool_events["spool.started"]["exp_ref"] == exp_ref  # so the dashboard links the series to the session
    assert spool_events["spool.stopped"]["exp_ref"] == exp_ref
    names = [n for n, _ in events(camera) if n.startswith("session.")]
    assert names == ["session.initialized", "session.started", "session.stopped", "session.cleaned_up"]
    timeline = [(d["direction"], d["message"]) for _, d in events(camera, "echo.message")]
    for step in ("EXPINFO", "EXPINIT", "EXPSTART", "EXPSTATUS", "EXPEND", "EXPCLEANUP"):
        assert ("received", step) in timeline and ("sent", step) in timeline
    replies = [d for _, d in events(camera, "echo.message") if d["kind"] == "reply" and d["message"] == "EXPSTART"]
    assert replies[0]["elapsed"] is not None and replies[0]["exp_ref"] == exp_ref
    ended = events(behavior, "session.main_ended")[-1][1]
    assert ended["ok"] is True and ended["interrupted"] is False and ended["main_sync"] == "behavior"


async def test_the_dashboards_exp_ref_and_interrupt_reach_every_rig(lab):
    behavior, camera = lab
    await behavior.actions["session.start"](
        {"subject": "mouse_02", "rigs": rigs_of(behavior, camera), "exp_ref": "2026-01-02_7_mouse_02", "main_sync": "behavior"}
    )
    await wait_for(lambda: part_of(camera, "session").state == "running")
    assert part_of(camera, "session").echo.exp_ref == "2026-01-02_7_mouse_02"
    assert part_of(camera, "session").session_dir.parts[-3:] == ("mouse_02", "2026-01-02", "007")
    await behavior.actions["session.interrupt"]({})
    assert part_of(camera, "session").state in {"interrupted", "idle"}
    assert ("session.interrupted" in [n for n, _ in events(camera)])
    assert events(behavior, "session.main_ended")[-1][1]["interrupted"] is True


async def test_a_rig_that_does_not_answer_is_named_and_the_others_are_interrupted(lab, tmp_path):
    behavior, camera = lab
    rigs = {**rigs_of(behavior, camera), "ghost": f"udp://127.0.0.1:{udp_port()}"}
    await behavior.actions["session.start"]({"subject": "mouse_03", "rigs": rigs, "timeout": 1.5})
    await wait_for(lambda: events(behavior, "session.main_ended"), timeout=30)
    ended = events(behavior, "session.main_ended")[-1][1]
    assert ended["ok"] is False and "ghost" in ended["failures"]
    assert not part_of(camera, "spool").status().active


async def test_a_bad_session_start_is_refused_with_a_reason(lab):
    behavior, _ = lab
    from rigs.link import CommandFailed

    with pytest.raises(CommandFailed, match="rigs"):
        await behavior.actions["session.start"]({"subject": "mouse_01", "rigs": []})
    with pytest.raises(CommandFailed, match="drives no session"):
        await behavior.actions["session.stop"]({})


async def test_a_session_started_with_a_duration_ends_by_itself_with_expend(lab):
    behavior, camera = lab
    await behavior.actions["session.start"]({"subject": "mouse_04", "rigs": rigs_of(behavior, camera), "duration": 1})
    await wait_for(lambda: events(behavior, "session.main_ended"), timeout=30)
    ended = events(behavior, "session.main_ended")[-1][1]
    assert ended["ended_by"] == "duration" and ended["ok"] is True and ended["interrupted"] is False
    assert [n for n, _ in events(camera) if n.startswith("session.")][-2:] == ["session.stopped", "session.cleaned_up"]
    assert not part_of(camera, "spool").status().active


async def test_a_rig_in_a_session_refuses_another_one_and_keeps_recording(lab, tmp_path):
    behavior, camera = lab
    await behavior.actions["session.start"]({"subject": "mouse_05", "rigs": rigs_of(behavior, camera)})
    await wait_for(lambda: part_of(behavior, "session").status().main_exp_ref is not None, timeout=30)
    first = part_of(camera, "session").exp_ref
    series = part_of(camera, "spool").status().file

    intruder = make_agent(tmp_path, "intruder", "behavior", main_sync=True)
    run = asyncio.ensure_future(intruder.run())
    try:
        await asyncio.sleep(0.3)
        with pytest.raises(Exception, match="already drives session"):  # the main rig itself is busy: refused
            await behavior.actions["session.start"]({"subject": "mouse_06", "rigs": rigs_of(behavior)})
        await intruder.actions["session.start"]({"subject": "mouse_06", "rigs": rigs_of(intruder, camera),
                                                 "timeout": 2})
        await wait_for(lambda: events(intruder, "session.main_ended"), timeout=30)
    finally:
        intruder.stop()
        await asyncio.wait_for(run, 20)
    ended = events(intruder, "session.main_ended")[-1][1]
    assert ended["ok"] is False and "cam-left" in ended["failures"] and "is in session" in ended["failures"]["cam-left"]
    assert part_of(camera, "session").exp_ref == first and part_of(camera, "session").state == "running"
    assert part_of(camera, "spool").status().active and part_of(camera, "spool").status().file == series
    await behavior.actions["session.stop"]({})
    assert events(behavior, "session.main_ended")[-1][1]["ok"] is True


async def test_each_rig_describes_its_share_as_iblrig_does(tmp_path):
    camera = make_agent(tmp_path, "cam-left", "video", camera=True)
    behavior = agent_build(config_from_dict({
        "name": "behavior", "kind": "behavior", "echo": f"udp://127.0.0.1:{udp_port()}", "main_sync": True,
        "state_dir": str(tmp_path / "b" / "state"), "data": {"local_subjects": str(tmp_path / "b" / "Subjects")},
        "task": {"protocol": "_iblrig_tasks_trainingChoiceWorld8.0.0", "procedures": ["Behavior training/tasks"]}}))
    part_of(behavior, "session").echo.main_sync = True
    assert part_of(camera, "session").description() == {
        "devices": {"cameras": {"cam-left": {"collection": "raw_video_data", "fps": 50.0, "width": 64, "height": 64}}},
        "version": "1.0.0"}
    assert part_of(behavior, "session").description() == {
        "version": "1.0.0", "procedures": ["Behavior training/tasks"], "projects": [],
        "sync": {"bpod": {"collection": "raw_task_data_00", "acquisition_software": "pybpod", "extension": ".jsonable"}},
        "tasks": [{"_iblrig_tasks_trainingChoiceWorld8.0.0": {"collection": "raw_task_data_00"}}]}
    part_of(behavior, "session").echo.main_sync = False
    task = part_of(behavior, "session").description()["tasks"][0]["_iblrig_tasks_trainingChoiceWorld8.0.0"]
    assert task["sync_label"] == "bpod" and "sync" not in part_of(behavior, "session").description()
