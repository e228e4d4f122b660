"""The agent socket: refused without a valid token at the handshake; hello, events, replies, bad input."""

from __future__ import annotations

import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async

from labweb.fleet import services
from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command, Rig, RigEvent

from .conftest import agent_connect, agent_socket, browser_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("token", [None, "", "lwr_wrong"])
async def test_a_missing_or_wrong_token_is_refused_at_the_handshake(application, rig_and_token, token, caplog):
    socket = agent_socket(application, token)
    with caplog.at_level(logging.WARNING, logger="labweb.live.auth"):
        connected, _ = await socket.connect()
    assert not connected
    assert "agent socket from" in caplog.text and "refused" in caplog.text


async def test_a_revoked_token_is_refused(application, rig_and_token):
    rig, token = rig_and_token
    new_token = await sync_to_async(services.rig_token_rotate)(rig=rig)
    old, _ = await agent_socket(application, token).connect()
    new_socket = agent_socket(application, new_token)
    new, _ = await new_socket.connect()
    assert (old, new) == (False, True)
    await new_socket.disconnect()


async def test_hello_marks_the_rig_online_and_disconnect_offline(application, rig_and_token):
    rig, token = rig_and_token
    socket = await agent_connect(application, token)
    fresh = await sync_to_async(Rig.objects.get)(pk=rig.pk)
    assert fresh.online and fresh.version == "test"
    await socket.disconnect()
    fresh = await sync_to_async(Rig.objects.get)(pk=rig.pk)
    assert not fresh.online


async def test_events_are_stored_once_and_acked_however_often_they_are_sent(application, rig_and_token):
    rig, token = rig_and_token
    socket = await agent_connect(application, token)
    event = {"type": "event", "rig": "cam-left", "seq": 1, "time": 1700000000.0, "name": "spool.started", "data": {"f": 1}}
    for _ in range(3):  # a resend after a reconnect, twice
        await socket.send_json_to(event)
        ack = await socket.receive_json_from(timeout=5)
        assert ack == {"type": "ack", "seqs": [1]}
    rows = await sync_to_async(list)(RigEvent.objects.filter(rig=rig).values_list("seq", "name", "data"))
    assert rows == [(1, "spool.started", {"f": 1})]
    await socket.disconnect()


async def test_the_welcome_tells_a_reconnecting_agent_the_last_stored_seq(application, rig_and_token):
    rig, token = rig_and_token
    socket = await agent_connect(application, token)
    await socket.send_json_to({"type": "event", "rig": "cam-left", "seq": 7, "time": 1.0, "name": "x"})
    await socket.receive_json_from(timeout=5)
    await socket.disconnect()
    again = agent_socket(application, token)
    await again.connect()
    await again.send_json_to({"type": "hello", "rig": "cam-left", "kind": "video", "version": "test"})
    assert await again.receive_json_from(timeout=5) == {"type": "welcome", "rig": "cam-left", "last_seq": 7,
                                                        "echo_hosts": ["127.0.0.1"]}
    await again.disconnect()


@pytest.mark.parametrize(
    "bad",
    ["{not json", '{"type": "event", "rig": "cam-left"}', '{"type": "status", "rig": "other-rig", "time": 1, "state": "idle"}',
     '{"type": "ack", "seqs": []}', "x" * 600_000],
)
async def test_malformed_messages_get_an_error_and_the_link_stays_up(application, rig_and_token, bad, caplog):
    _, token = rig_and_token
    socket = await agent_connect(application, token)
    with caplog.at_level(logging.WARNING, logger="labweb.live.consumers"):
        await socket.send_to(text_data=bad)
        error = await socket.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["error"]
    assert "message rejected" in caplog.text
    await socket.send_json_to({"type": "event", "rig": "cam-left", "seq": 1, "time": 1.0, "name": "still.here"})
    assert (await socket.receive_json_from(timeout=5))["seqs"] == [1]
    await socket.disconnect()


async def test_the_first_message_must_be_hello(application, rig_and_token):
    _, token = rig_and_token
    socket = agent_socket(application, token)
    await socket.connect()
    await socket.send_json_to({"type": "event", "rig": "cam-left", "seq": 1, "time": 1.0, "name": "early"})
    assert "hello" in (await socket.receive_json_from(timeout=5))["error"]
    assert await sync_to_async(RigEvent.objects.count)() == 0
    await socket.disconnect()


async def test_a_reply_closes_its_command(application, rig_and_token, operator):
    rig, token = rig_and_token
    socket = await agent_connect(application, token)
    rig = await sync_to_async(Rig.objects.get)(pk=rig.pk)
    command = await sync_to_async(services.command_issue)(user=operator, rig=rig, action="spool.stop", params={})
    await socket.send_json_to({"type": "reply", "rig": "cam-left", "id": str(command.pk), "ok": False, "error": "not spooling"})
    for _ in range(50):
        command = await sync_to_async(Command.objects.get)(pk=command.pk)
        if command.state != CommandState.SENT:
            break
        await asyncio.sleep(0.05)
    assert (command.state, command.error) == (CommandState.FAILED, "not spooling")
    await socket.disconnect()


async def test_a_second_link_of_the_same_rig_replaces_the_first(application, rig_and_token):
    _, token = rig_and_token
    first = await agent_connect(application, token)
    second = await agent_connect(application, token)
    closed = await first.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4001}
    await second.disconnect()


async def test_a_replaced_link_never_shows_its_rig_offline(application, rig_and_token, viewer):
    # An agent that reconnects (a network blip, or the other dashboard process after a failover) replaces its
    # older link; the rig was never offline, so no page may say it was, and a session start must not be refused.
    rig, token = rig_and_token
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    await browser.receive_json_from(timeout=5)  # the snapshot
    first = await agent_connect(application, token)
    second = agent_socket(application, token)
    assert (await second.connect())[0]  # its hello is still on the way (or it landed on another process)
    assert await first.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}
    await first.disconnect(code=4001)
    offline = []
    while not await browser.receive_nothing(timeout=1.0):
        message = await browser.receive_json_from(timeout=1)
        offline += [r for r in message.get("rigs", []) if r["rig"] == "cam-left" and r.get("online") is False]
    assert offline == []
    assert (await sync_to_async(Rig.objects.get)(pk=rig.pk)).online
    await second.send_json_to({"type": "hello", "rig": "cam-left", "kind": "video", "version": "test"})
    assert (await second.receive_json_from(timeout=5))["type"] == "welcome"
    await browser.send_json_to({"type": "snapshot"})
    snapshot = await browser.receive_json_from(timeout=5)
    assert next(r for r in snapshot["rigs"] if r["rig"] == "cam-left")["online"] is True
    await second.disconnect()
    await browser.disconnect()
