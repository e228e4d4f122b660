"""Hostile and broken input on both sockets (issue 14): answered with a clear error, the socket kept, nothing
stored that should not be, and only a page of the dashboard's own origin may open the browser socket."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from labweb.fleet import services
from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command, RigEvent
from labweb.live.echo_hosts import get_watcher

from .conftest import agent_connect, browser_socket
from .test_dashboard_socket import next_frame

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = '{"type": "status", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
DEEP_SMALL = '{"type": "snapshot", "x": ' + "[" * 20_000 + "]" * 20_000 + "}"  # under the browser's size limit


def event(seq: int, **extra) -> dict:
    return {"type": "event", "rig": "cam-left", "seq": seq, "time": 1.0, "name": "still.here", **extra}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [(DEEP, "deeper than"), ('{"type": "status", "rig": "cam-left", "time": NaN, "state": "idle"}', "NaN"),
     (json.dumps(event(2**63 - 1)), "out of range"), (json.dumps(event(3, time=1e300)), "time must be"),
     (json.dumps(event(3, data={"x": "\u0000"})), "NUL")],
)
async def test_the_agent_socket_answers_hostile_json_and_stays_up(application, rig_and_token, bad, reason):
    _, token = rig_and_token
    socket = await agent_connect(application, token)
    await socket.send_to(text_data=bad)
    error = await socket.receive_json_from(timeout=5)
    assert error["type"] == "error" and reason in error["error"]
    await socket.send_json_to(event(1))
    assert (await socket.receive_json_from(timeout=5))["seqs"] == [1]
    await socket.disconnect()
    assert await sync_to_async(RigEvent.objects.count)() == 1  # nothing of the bad message was stored


async def test_an_event_refused_for_good_is_named_by_its_seq(application, rig_and_token):
    """So the agent can quarantine it instead of sending it forever (issue 14)."""
    _, token = rig_and_token
    socket = await agent_connect(application, token)
    await socket.send_json_to(event(5, name="x" * 200))
    error = await socket.receive_json_from(timeout=5)
    assert error["seq"] == 5 and "name" in error["error"]
    await socket.disconnect()


async def test_the_welcome_names_the_registered_echo_hosts_and_a_change_is_pushed(application, rig_and_token):
    _, token = rig_and_token
    await sync_to_async(services.rig_create)(name="bpod-1", kind="behavior", echo_uri="udp://10.0.0.7:11001")
    await sync_to_async(services.rig_create)(name="anywhere", echo_uri="udp://0.0.0.0:11001")  # not a peer
    socket = await agent_connect(application, token)  # its welcome was checked by agent_connect
    await sync_to_async(services.rig_create)(name="ephys-2", kind="ephys", echo_uri="tcp://rig-ephys-2.lab:9998")
    await get_watcher().poll()  # what the watcher does every few seconds
    update = await socket.receive_json_from(timeout=5)
    assert update == {"type": "registry", "echo_hosts": ["10.0.0.7", "127.0.0.1", "rig-ephys-2.lab"]}
    await socket.disconnect()


async def test_the_welcome_carries_the_hosts(application, rig_and_token):
    from .conftest import agent_socket

    _, token = rig_and_token
    await sync_to_async(services.rig_create)(name="bpod-1", kind="behavior", echo_uri="10.0.0.7")
    socket = agent_socket(application, token)
    await socket.connect()
    await socket.send_json_to({"type": "hello", "rig": "cam-left", "kind": "video", "version": "test"})
    welcome = await socket.receive_json_from(timeout=5)
    assert welcome["echo_hosts"] == ["10.0.0.7", "127.0.0.1"]
    await socket.disconnect()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [(DEEP_SMALL, "deeper than"), ('{"type": "command", "params": {"x": NaN}}', "NaN"), ("x" * 100_000, "over the"),
     ("{nope", "not valid JSON"), ("[1, 2]", "expected {type"), ('{"type": "x\\u0000"}', "NUL")],
)
async def test_the_dashboard_socket_answers_hostile_json_and_stays_up(application, viewer, bad, reason):
    browser = await browser_socket(application, user=viewer)
    assert (await browser.connect())[0]
    await next_frame(browser, lambda m: m["type"] == "snapshot")
    await browser.send_to(text_data=bad)
    error = await next_frame(browser, lambda m: m["type"] == "error")
    assert reason in error["error"]
    await browser.send_json_to({"type": "snapshot"})
    assert (await next_frame(browser, lambda m: m["type"] == "snapshot"))["rigs"] == []
    await browser.disconnect()


async def test_an_oversized_command_is_refused_recorded_without_its_params_and_never_left_sent(
        application, rig_and_token, operator):
    agent = await agent_connect(application, rig_and_token[1])
    browser = await browser_socket(application, user=operator)
    assert (await browser.connect())[0]
    await browser.send_json_to({"type": "command", "ref": "9", "rig": "cam-left", "action": "spool.start",
                                "params": {"metadata": {"note": "x" * 40_000}}})
    answer = await next_frame(browser, lambda m: m["type"] == "command")
    assert "over the limit" in answer["error"]
    command = await sync_to_async(Command.objects.get)()
    assert command.state == CommandState.REFUSED and command.params == {}
    assert await agent.receive_nothing(timeout=0.3)
    await browser.send_json_to({"type": "snapshot"})
    assert (await next_frame(browser, lambda m: m["type"] == "snapshot"))["type"] == "snapshot"
    await browser.disconnect()
    await agent.disconnect()


async def test_a_viewer_cannot_fill_the_database_with_refused_commands(application, rig_and_token, viewer):
    browser = await browser_socket(application, user=viewer)
    assert (await browser.connect())[0]
    big = {"metadata": {"note": "y" * 15_000}}
    for ref in range(60):
        await browser.send_json_to({"type": "command", "ref": str(ref), "rig": "cam-left", "action": "spool.start",
                                    "params": big})
        answer = await next_frame(browser, lambda m: m["type"] == "command")
        assert "viewer" in answer["error"]
    rows = await sync_to_async(list)(Command.objects.values_list("params", flat=True))
    assert len(rows) == services.MAX_REFUSED_PER_MINUTE
    assert all(len(json.dumps(params)) < 20_000 for params in rows)
    await browser.disconnect()


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [(b"http://127.0.0.1:8000", b"127.0.0.1:8000", True),
     (b"http://127.0.0.1:9999", b"127.0.0.1:8000", False),  # another service on the same host
     (b"https://127.0.0.1:8000", b"127.0.0.1:8000", False),  # another scheme
     (b"http://localhost", b"localhost:80", True),  # default port, written or not
     (b"http://evil.example:8000", b"evil.example:8000", False),  # a Host this dashboard does not serve
     (b"null", b"127.0.0.1:8000", False)],
)
async def test_the_origin_must_be_the_dashboards_own_scheme_host_and_port(application, viewer, origin, host, allowed):
    browser = await browser_socket(application, user=viewer, origin=origin)
    browser.scope["headers"] = [(k, host if k == b"host" else v) for k, v in browser.scope["headers"]]
    connected, _ = await browser.connect()
    assert connected is allowed
    if connected:
        await browser.disconnect()


async def test_a_trusted_origin_may_open_the_socket(application, viewer, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://dashboard.lab", "https://*.lab.example"]
    for origin, allowed in ((b"https://dashboard.lab", True), (b"https://a.lab.example", True),
                            (b"https://dashboard.lab:8443", False), (b"http://dashboard.lab", False)):
        browser = await browser_socket(application, user=viewer, origin=origin)
        connected, _ = await browser.connect()
        assert connected is allowed, origin
        if connected:
            await browser.disconnect()
