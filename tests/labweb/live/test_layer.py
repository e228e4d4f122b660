"""The channel layer's silent drops: counted, exposed on /metrics, and a browser that missed a frame ends up right."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from channels.layers import get_channel_layer
from django.test import AsyncClient

from labweb.live import layer as layer_counts
from labweb.live.board import DASHBOARD_GROUP, get_board
from labweb.live.fanout import RELAY_GROUP

from .conftest import agent_connect, browser_socket
from .test_board import status
from .test_dashboard_socket import next_frame, rig_in

pytestmark = pytest.mark.django_db(transaction=True)


async def publish_dropped(frame_text: str) -> None:
    """Publish one frame that the channel layer drops, as it does for a full channel: the processes' relay channels
    are full (in-memory: filled with stale frames; channels_redis: a capacity of 0 for this one send)."""
    layer = get_channel_layer()
    message = {"type": "relay.frame", "text": frame_text}
    if hasattr(layer, "groups") and isinstance(layer.groups, dict):
        stale = {"type": "relay.frame", "text": json.dumps({"type": "frame", "origin": get_board().origin, "seq": 0,
                                                            "rigs": []})}
        for name in layer.groups.get(RELAY_GROUP, {}):
            queue = layer.channels.setdefault(name, asyncio.Queue(maxsize=layer.get_capacity(name)))  # as the layer does
            while not queue.full():
                queue.put_nowait((time.time() + 60, stale))
        await layer_counts.group_send_counted(layer, RELAY_GROUP, message)  # nothing yields before the drop
    else:
        real = layer.get_capacity
        layer.get_capacity = lambda channel: 0
        try:
            await layer_counts.group_send_counted(layer, RELAY_GROUP, message)
        finally:
            layer.get_capacity = real


async def test_a_dropped_frame_is_counted_and_the_browser_resyncs_to_the_truth(application, rig_and_token, viewer):
    _, token = rig_and_token
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    snapshot = await browser.receive_json_from(timeout=5)
    agent = await agent_connect(application, token)
    await agent.send_json_to(status(1))
    seen = await next_frame(browser, lambda m: (r := rig_in(m, "cam-left")) and (r.get("spool") or {}).get("frames") == 1)
    last_seq = seen["seq"]
    assert seen["origin"] == snapshot["origin"]

    board = get_board()
    before = layer_counts.dropped["dashboard"]
    board.agent_status("cam-left", status(2, state="idle"))  # the state changes in this frame only
    await publish_dropped(board.take_frame())
    assert layer_counts.dropped["dashboard"] > before

    await agent.send_json_to(status(3, state="idle"))  # the next frame does not repeat the state: it did not change
    after = await next_frame(browser, lambda m: m["type"] == "frame" and m["seq"] > last_seq, attempts=5000)
    assert after["seq"] > last_seq + 1 and "state" not in rig_in(after, "cam-left")  # a gap: the browser resyncs
    await browser.send_json_to({"type": "snapshot"})
    fresh = await next_frame(browser, lambda m: m["type"] == "snapshot")
    entry = rig_in(fresh, "cam-left")
    assert (entry["state"], entry["spool"]["frames"]) == ("idle", 3)

    response = await AsyncClient().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    line = next(ln for ln in response.content.decode().splitlines()
                if ln.startswith('labweb_process_layer_dropped_total{group="dashboard"}'))
    assert float(line.split()[-1]) >= 1
    await agent.disconnect()
    await browser.disconnect()


async def test_a_failing_group_send_is_counted_not_raised():
    class Down:
        async def group_send(self, group, message):
            raise ConnectionError("redis is down")

    before = layer_counts.failed["dashboard"]
    assert await layer_counts.group_send_counted(Down(), DASHBOARD_GROUP, {"type": "relay.frame", "text": "{}"}) is False
    assert layer_counts.failed["dashboard"] == before + 1
