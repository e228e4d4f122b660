"""The relay board: frames carry only what changed, a lone change goes out at once, and the token sweep closes the
links whose token changed, never one that connected while it ran."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from asgiref.sync import sync_to_async

from labweb.fleet import services
from labweb.fleet.models import Rig
from labweb.live.board import get_board
from labweb.live.consumers import AgentConsumer
from labweb.live.housekeeping import persist_and_sweep

from .conftest import agent_connect, agent_socket, browser_socket
from .test_dashboard_socket import next_frame, rig_in

pytestmark = pytest.mark.django_db(transaction=True)

SPOOL = {"state": "running", "file": "a.h5", "frames": 1, "fps": 30.0}
DISK = {"path": "/data", "total": 1000, "free": 500}


def status(frames: int, **more) -> dict:
    return {"type": "status", "rig": "cam-left", "time": 1_800_000_000.0 + frames, "state": "spooling",
            "spool": {**SPOOL, "frames": frames}, "disk": DISK, **more}


async def test_a_frame_carries_the_changed_fields_with_rig_online_and_kind(application, rig_and_token, viewer):
    _, token = rig_and_token
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    await browser.receive_json_from(timeout=5)  # the snapshot
    agent = await agent_connect(application, token)
    hello = await next_frame(browser, lambda m: rig_in(m, "cam-left"))
    assert {"version", "capabilities", "location", "out_of_service"} <= rig_in(hello, "cam-left").keys()  # whole

    await agent.send_json_to(status(1))
    first = rig_in(await next_frame(browser, lambda m: rig_in(m, "cam-left")), "cam-left")
    assert first["spool"]["frames"] == 1 and first["disk"] == DISK
    await agent.send_json_to(status(2))  # only the spool and the time change
    second = rig_in(await next_frame(browser, lambda m: rig_in(m, "cam-left")), "cam-left")
    assert set(second) == {"rig", "online", "kind", "spool", "time", "last_seen"}
    assert (second["online"], second["kind"], second["spool"]["frames"]) == (True, "video", 2)
    await agent.disconnect()
    await browser.disconnect()


async def test_a_lone_change_goes_out_without_waiting_for_a_tick(application, rig_and_token, viewer, settings):
    settings.LABWEB_RELAY_TICK_SECONDS = 600  # a tick the test could never wait for
    _, token = rig_and_token
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    await browser.receive_json_from(timeout=5)
    agent = await agent_connect(application, token)
    frame = await browser.receive_json_from(timeout=5)  # the hello, at once: the ticker was idle
    assert rig_in(frame, "cam-left")["online"]
    await agent.disconnect()
    await browser.disconnect()


async def test_statuses_within_a_tick_go_out_together_as_the_latest(application, rig_and_token):
    _, token = rig_and_token
    agent = await agent_connect(application, token)
    board = get_board()
    board.take_frame()  # the hello's
    for frames in (1, 2, 3):
        board.agent_status("cam-left", status(frames))
    frame = json.loads(board.take_frame())
    assert [r["spool"]["frames"] for r in frame["rigs"]] == [3]
    assert board.take_frame() is None  # nothing new since
    await agent.disconnect()


async def test_the_sweep_closes_a_link_whose_token_was_rotated(application, rig_and_token):
    rig, token = rig_and_token
    agent = await agent_connect(application, token)
    await sync_to_async(services.rig_token_rotate)(rig=rig)
    await persist_and_sweep(get_board())
    assert await agent.receive_output(timeout=5) == {"type": "websocket.close", "code": 4003}


async def test_an_agent_connecting_during_the_token_sweep_is_not_taken_for_revoked(application, monkeypatch):
    """The 4003 race of issue 16: the sweep's thread read the board's links while the event loop added one, so an
    agent whose hello completed after the token query (its hash not fetched) was closed as "token rotated or
    revoked". Here, on the real consumers, the second agent's hello reaches the board while the sweep's thread
    is held just after its token query."""
    _, first_token = await sync_to_async(services.rig_create)(name="cam-left", kind="video")
    _, second_token = await sync_to_async(services.rig_create)(name="cam-right", kind="video")
    first = await agent_connect(application, first_token, rig="cam-left")
    board = get_board()

    # The second agent's hello does its database work, then waits (in sending its welcome) for the sweep.
    welcoming, proceed = asyncio.Event(), asyncio.Event()
    real_send = AgentConsumer.send

    async def send(self, text_data=None, bytes_data=None, close=False):
        if text_data and '"welcome"' in text_data and self.rig.name == "cam-right":
            welcoming.set()
            await proceed.wait()
        await real_send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    monkeypatch.setattr(AgentConsumer, "send", send)
    second = agent_socket(application, second_token)
    assert (await second.connect())[0]
    await second.send_json_to({"type": "hello", "rig": "cam-right", "kind": "video", "version": "test"})
    await asyncio.wait_for(welcoming.wait(), 10)

    # The sweep's token query runs in its thread, which then waits while the second agent joins the board.
    queried, release = threading.Event(), threading.Event()
    real_filter = Rig.objects.filter

    class HeldQuery:
        def __init__(self, queryset):
            self.queryset = queryset

        def values_list(self, *fields):
            rows = list(self.queryset.values_list(*fields))
            queried.set()
            release.wait(timeout=30)
            return rows

    def filter(*args, **kwargs):
        queryset = real_filter(*args, **kwargs)
        return HeldQuery(queryset) if "name__in" in kwargs else queryset

    monkeypatch.setattr(Rig.objects, "filter", filter)
    sweep = asyncio.ensure_future(persist_and_sweep(board))
    while not queried.is_set():
        await asyncio.sleep(0.01)
    proceed.set()
    while "cam-right" not in board.agents:
        await asyncio.sleep(0.01)
    release.set()
    await sweep
    monkeypatch.setattr(Rig.objects, "filter", real_filter)

    assert (await second.receive_json_from(timeout=5))["type"] == "welcome"
    for agent in (first, second):
        assert await agent.receive_nothing(timeout=0.5)  # neither closed: no token changed
    assert {"cam-left", "cam-right"} <= set(board.agents)
    await first.disconnect()
    await second.disconnect()


async def test_the_persist_saves_every_held_rigs_latest_status_and_last_seen(application, rig_and_token):
    rig, token = rig_and_token
    agent = await agent_connect(application, token)
    await agent.send_json_to(status(7))
    board = get_board()
    while (board.entries["cam-left"].get("spool") or {}).get("frames") != 7:
        await asyncio.sleep(0.01)
    await persist_and_sweep(board)
    saved = await sync_to_async(Rig.objects.get)(pk=rig.pk)
    assert saved.online and saved.last_status["spool"]["frames"] == 7 and saved.last_status["disk"] == DISK
    assert abs(saved.last_seen.timestamp() - board.entries["cam-left"]["last_seen"]) < 1e-3
    await agent.disconnect()


async def test_the_persist_saves_the_rigs_clock_offset_at_its_best_not_its_latest(application, rig_and_token):
    # Two statuses of a rig whose clock is right: the first arrives on time, the second as if it waited 9 s in a
    # busy dashboard. The clock-skew alert reads the saved offset (labweb.alerts.rules.clock_offset).
    rig, token = rig_and_token
    agent = await agent_connect(application, token)
    now = time.time()
    await agent.send_json_to({**status(1), "time": now})
    await agent.send_json_to({**status(2), "time": now - 9.0})
    board = get_board()
    while (board.entries["cam-left"].get("spool") or {}).get("frames") != 2:
        await asyncio.sleep(0.01)
    await persist_and_sweep(board)
    saved = await sync_to_async(Rig.objects.get)(pk=rig.pk)
    assert 0 <= saved.last_status["clock_offset"] < 1.0
    await agent.disconnect()
