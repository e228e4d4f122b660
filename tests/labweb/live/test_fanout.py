"""Frames cross the channel layer once per process and reach every browser of that process; a browser too far
behind loses frames counted, not silently; the process keeps its place in the relay past the group expiry."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from labweb.live import board as board_module
from labweb.live import fanout as fanout_module
from labweb.live import layer as layer_counts
from labweb.live.fanout import RELAY_GROUP, Fanout

from .conftest import agent_connect, browser_socket
from .test_board import status
from .test_dashboard_socket import next_frame, rig_in

pytestmark = pytest.mark.django_db(transaction=True)


def shows_frames(count: int):
    return lambda m: (r := rig_in(m, "cam-left")) is not None and (r.get("spool") or {}).get("frames") == count


async def test_three_browsers_get_each_frame_that_crossed_the_layer_once(application, rig_and_token, viewer,
                                                                      monkeypatch):
    sent: list[str] = []
    real_send = board_module.group_send_counted

    async def recording(layer, group, message):
        sent.append(group)
        return await real_send(layer, group, message)

    monkeypatch.setattr(board_module, "group_send_counted", recording)
    _, token = rig_and_token
    browsers = [await browser_socket(application, user=viewer) for _ in range(3)]
    for browser in browsers:
        await browser.connect()
        await browser.receive_json_from(timeout=5)  # the snapshot
    agent = await agent_connect(application, token)
    await agent.send_json_to(status(5))

    frames = [await next_frame(browser, shows_frames(5)) for browser in browsers]
    assert len({(f["origin"], f["seq"]) for f in frames}) == 1  # the same frame, to each
    assert set(sent) == {RELAY_GROUP}  # published to the processes, not to each browser
    await agent.disconnect()
    for browser in browsers:
        await browser.disconnect()


async def test_a_browser_whose_queue_is_full_loses_the_frame_counted():
    class Browser:
        def __init__(self, size):
            self.frames = asyncio.Queue(maxsize=size)

    fanout, slow, keeping_up = Fanout(), Browser(1), Browser(10)
    fanout.browsers.update({slow, keeping_up})
    before = layer_counts.dropped["dashboard"]
    for seq in (1, 2):
        fanout.deliver({"type": "relay.frame", "text": f'{{"seq": {seq}}}'})
    assert layer_counts.dropped["dashboard"] == before + 1  # the slow one's second frame: it resyncs on the gap
    assert slow.frames.qsize() == 1 and keeping_up.frames.qsize() == 2


async def test_a_browser_open_longer_than_the_group_expiry_still_gets_frames(application, rig_and_token, viewer,
                                                                           monkeypatch):
    # A wall display stays open for days (when daphne is told to keep sockets open); channels' groups forget
    # members after group_expiry (a day by default).
    layer = get_channel_layer()
    monkeypatch.setattr(layer, "group_expiry", 1)
    monkeypatch.setattr(fanout_module, "REJOIN_SECONDS", 0.3)
    _, token = rig_and_token
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    await browser.receive_json_from(timeout=5)
    agent = await agent_connect(application, token)
    await asyncio.sleep(2.5)  # past the expiry, with the process's membership renewed meanwhile
    await agent.send_json_to(status(9))
    assert await next_frame(browser, shows_frames(9))
    await agent.disconnect()
    await browser.disconnect()


async def test_a_process_gone_silent_leaves_the_relay_group_before_its_channel_fills(monkeypatch):
    # A killed dashboard process's channel would be sent every frame (and, once full, count every one as dropped)
    # for channels' group expiry, a day; the live processes drop it from the group within SILENT_SECONDS.
    layer = get_channel_layer()
    # Before the dead process's channel fills with two live processes' frames (one per tick each).
    assert fanout_module.SILENT_SECONDS < layer.capacity * settings.LABWEB_RELAY_TICK_SECONDS / 2
    gone, alive = await layer.new_channel(), await layer.new_channel()
    await layer.group_add(RELAY_GROUP, gone)
    monkeypatch.setattr(fanout_module, "SILENT_SECONDS", 0.5)
    await asyncio.sleep(0.7)
    await layer.group_add(RELAY_GROUP, alive)  # renewed since
    await fanout_module._forget_silent_processes(layer)
    if isinstance(getattr(layer, "groups", None), dict):
        members = set(layer.groups[RELAY_GROUP])
    else:
        connection = layer.connection(layer.consistent_hash(RELAY_GROUP))
        members = {m.decode() for m in await connection.zrange(layer._group_key(RELAY_GROUP), 0, -1)}
    assert alive in members and gone not in members
    await layer.group_discard(RELAY_GROUP, alive)


async def test_the_relay_outlives_a_channel_layer_that_fails_a_read(monkeypatch, caplog):
    # Redis restarting must not leave every browser of the process without frames until another browser comes.
    class Flaky:
        def __init__(self):
            self.reads = 0

        async def receive(self, channel):
            self.reads += 1
            if self.reads == 1:
                raise ConnectionError("Redis went away")
            if self.reads == 2:
                return {"type": "relay.frame", "text": '{"seq": 2}'}
            await asyncio.Event().wait()  # nothing more

    class Browser:
        frames = asyncio.Queue()

    monkeypatch.setattr(fanout_module, "RETRY_SECONDS", 0.01)
    fanout, browser = Fanout(), Browser()
    fanout.browsers.add(browser)
    fanout.channel = "relay-test"
    relay = asyncio.ensure_future(fanout._relay(Flaky()))
    try:
        frame = await asyncio.wait_for(browser.frames.get(), 5)
    finally:
        relay.cancel()
    assert frame["text"] == '{"seq": 2}'
    assert "could not read from the channel layer" in caplog.text


async def test_browsers_connecting_together_start_one_relay_on_one_channel():
    class Browser:
        def __init__(self):
            self.frames = asyncio.Queue()

    fanout, browsers = Fanout(), [Browser() for _ in range(5)]
    await asyncio.gather(*(fanout.join(browser) for browser in browsers))
    try:
        layer = get_channel_layer()
        relays = [t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "") == "Fanout._relay"]
        assert len(relays) == 1 and fanout.channel is not None
        await layer.group_send(RELAY_GROUP, {"type": "relay.frame", "text": "{}"})
        await asyncio.sleep(0.2)
        assert [b.frames.qsize() for b in browsers] == [1] * 5  # once each: no second relay on another channel
    finally:
        for task in fanout._tasks:
            task.cancel()
        await get_channel_layer().group_discard(RELAY_GROUP, fanout.channel)
