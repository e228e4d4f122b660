"""The agent as the dashboard sees it: one status with every part's typed state, the rig's state by one rule,
and a heartbeat that never waits for a part's slow work."""

from __future__ import annotations

import asyncio
import json
import threading

import numpy as np
import pytest

from rigs.agent import agent_build
from rigs.config import config_from_dict
from rigs.messages import RIG_STATES, SessionStatus, SpoolStatus, TaskStatus, TransferStatus, encode, rig_state
from rigs.spool import SpoolController
from rigs.spool.source import FrameSource


def build(tmp_path, **extra):
    config = {"name": "cam-left", "kind": "video", "echo": "udp://127.0.0.1:0", "state_dir": str(tmp_path / "state"),
              "data": {"local_subjects": str(tmp_path / "Subjects"), "remote_subjects": str(tmp_path / "server")},
              **extra}
    (tmp_path / "server").mkdir(exist_ok=True)
    return agent_build(config_from_dict(config))


@pytest.mark.parametrize(("parts", "state"), [
    ({}, "idle"),
    ({"spool": SpoolStatus(state="finished"), "transfer": TransferStatus()}, "idle"),
    ({"spool": SpoolStatus(state="running")}, "spooling"),
    ({"spool": SpoolStatus(state="starting"), "transfer": TransferStatus(active=True)}, "spooling"),
    ({"transfer": TransferStatus(active=True)}, "copying"),
    ({"session": SessionStatus(state="running"), "spool": SpoolStatus(state="running")}, "session"),
    ({"session": SessionStatus(state="idle", main=True)}, "session"),
    ({"task": TaskStatus(state="running")}, "session"),
])
def test_the_rigs_state_comes_from_its_parts_by_one_rule(parts, state):
    assert rig_state(parts) == state == rig_state({k: json.loads(json.dumps(v.__dict__)) for k, v in parts.items()})
    assert state in RIG_STATES


def test_a_camera_rigs_status_carries_every_part_and_follows_the_wire_contract(tmp_path):
    agent = build(tmp_path, camera={"source": "synthetic", "shape": [32, 32], "fps": 10, "label": "left"})
    assert [part.key for part in agent.parts] == ["spool", "transfer", "session"]
    agent.disk.measure()
    status = json.loads(encode(agent.status()))
    assert status["state"] == "idle" and status["spool"]["state"] == "idle"
    assert status["session"]["echo"].startswith("udp://") and status["transfer"] is None
    assert status["disk"]["free"] > 0
    assert {"spool.start", "spool.stop", "preview.request", "transfer.run", "transfer.verify", "session.start",
            "session.stop", "session.interrupt"} == set(agent.actions)


def test_a_behaviour_rig_has_a_task_and_no_camera(tmp_path):
    agent = build(tmp_path, kind="behavior", task={"protocol": "_iblrig_tasks_passiveChoiceWorld8.0.0"})
    assert [part.key for part in agent.parts] == ["task", "transfer", "session"]
    assert json.loads(encode(agent.status()))["task"]["protocol"] == "_iblrig_tasks_passiveChoiceWorld8.0.0"


class SlowCamera(FrameSource):
    """A camera whose opening takes as long as the test says (a driver finding its device, a large buffer)."""

    def __init__(self, release: threading.Event) -> None:
        self.shape, self.dtype, self.fps, self.release = (8, 8), np.dtype("uint16"), 100.0, release

    def open(self) -> None:
        self.release.wait(30)

    def read_into(self, out, timeout):
        out[:] = 1
        return 0.0


def test_status_answers_while_a_series_is_still_starting(tmp_path):
    release = threading.Event()
    controller = SpoolController(SlowCamera(release))
    starting = threading.Thread(target=controller.start, args=({"directory": str(tmp_path), "preflight": "skip"},))
    starting.start()
    try:
        while controller.status().state != "starting":
            pass
        answered = []
        asker = threading.Thread(target=lambda: answered.append(controller.status()))
        asker.start()
        asker.join(timeout=5)
        assert answered and answered[0].state == "starting" and answered[0].active  # not held up by the start
    finally:
        release.set()
        starting.join(30)
        controller.close()


async def test_the_heartbeat_keeps_beating_while_a_camera_starts(tmp_path):
    """What stalled agents when a session started: the status waited for the series to open."""
    agent = build(tmp_path, camera={"source": "synthetic", "shape": [32, 32], "fps": 10})
    spool = agent.parts[0]
    release = threading.Event()
    spool.controller.source = SlowCamera(release)
    run = asyncio.ensure_future(agent.run())
    try:
        start = asyncio.ensure_future(spool.spool_start({"preflight": "skip"}))
        while spool.status().state != "starting":
            await asyncio.sleep(0.01)
        beats = [agent.status() for _ in range(3)]  # on the event loop, as the link calls it
        assert all(beat["state"] == "spooling" for beat in beats)
        release.set()
        await start
        await spool.spool_stop({})
    finally:
        release.set()
        agent.stop()
        await asyncio.wait_for(run, 20)
