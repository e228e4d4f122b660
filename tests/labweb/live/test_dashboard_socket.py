"""The browser socket: login and origin required; snapshot then frames; commands checked by role."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command

from .conftest import agent_connect, browser_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def next_frame(socket, predicate, *, attempts: int = 100):
    """The first frame (or snapshot) that satisfies predicate; frames come every tick."""
    for _ in range(attempts):
        message = await socket.receive_json_from(timeout=5)
        if predicate(message):
            return message
    raise AssertionError("no matching frame")


def rig_in(message, name):
    return next((r for r in message.get("rigs", []) if r["rig"] == name), None)


async def test_an_anonymous_browser_is_refused(application, caplog):
    socket = await browser_socket(application, user=None)
    with caplog.at_level(logging.WARNING, logger="labweb.live.consumers"):
        connected, _ = await socket.connect()
    assert not connected
    assert "not logged in" in caplog.text


async def test_a_foreign_origin_is_refused_and_logged(application, viewer, caplog):
    socket = await browser_socket(application, user=viewer, origin=b"http://evil.example")
    with caplog.at_level(logging.WARNING, logger="labweb.live.auth"):
        connected, _ = await socket.connect()
    assert not connected
    assert "evil.example" in caplog.text


async def test_the_snapshot_lists_every_rig_with_name_online_and_kind(application, rig_and_token, viewer):
    socket = await browser_socket(application, user=viewer)
    assert (await socket.connect())[0]
    snapshot = await socket.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    entry = rig_in(snapshot, "cam-left")
    assert {k: entry[k] for k in ("rig", "online", "kind")} == {"rig": "cam-left", "online": False, "kind": "video"}
    await socket.disconnect()


async def test_browsers_see_a_rig_come_online_change_state_and_go_offline(application, rig_and_token, viewer):
    _, token = rig_and_token
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    await browser.receive_json_from(timeout=5)  # snapshot

    agent = await agent_connect(application, token)
    online = await next_frame(browser, lambda m: (r := rig_in(m, "cam-left")) and r["online"])
    assert online["type"] == "frame" and online["seq"] >= 1

    await agent.send_json_to({"type": "status", "rig": "cam-left", "time": 1.0, "state": "spooling", "activity": "series 7",
                              "spool": {"active": True, "frames": 120}})
    status = await next_frame(browser, lambda m: (r := rig_in(m, "cam-left")) and r["state"] == "spooling")
    assert rig_in(status, "cam-left")["spool"]["frames"] == 120

    await agent.disconnect()
    offline = await next_frame(browser, lambda m: (r := rig_in(m, "cam-left")) and not r["online"])
    assert rig_in(offline, "cam-left")["kind"] == "video"
    await browser.disconnect()


async def test_frames_carry_consecutive_seqs_so_a_gap_can_be_noticed(application, rig_and_token, viewer):
    _, token = rig_and_token
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    snapshot = await browser.receive_json_from(timeout=5)
    agent = await agent_connect(application, token)
    seqs = []
    for n in range(5):
        await agent.send_json_to({"type": "status", "rig": "cam-left", "time": float(n), "state": "idle", "activity": str(n)})
        frame = await next_frame(browser, lambda m: m["type"] == "frame")
        assert frame["origin"] == snapshot["origin"]
        seqs.append(frame["seq"])
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    await agent.disconnect()
    await browser.disconnect()


async def test_a_viewers_command_is_refused_and_recorded(application, rig_and_token, viewer):
    _, token = rig_and_token
    agent = await agent_connect(application, token)
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    await browser.receive_json_from(timeout=5)
    await browser.send_json_to({"type": "command", "ref": "1", "rig": "cam-left", "action": "spool.start", "params": {}})
    answer = await next_frame(browser, lambda m: m["type"] == "command")
    assert "only operators" in answer["error"]
    command = await sync_to_async(Command.objects.select_related("issued_by").get)()
    assert (command.state, command.issued_by.username) == (CommandState.REFUSED, "victor")
    assert await agent.receive_nothing(timeout=0.3)  # the refused command never reaches the rig
    await agent.disconnect()
    await browser.disconnect()


async def test_an_operators_command_reaches_the_agent_and_its_outcome_every_browser(application, rig_and_token, operator):
    _, token = rig_and_token
    agent = await agent_connect(application, token)
    browser = await browser_socket(application, user=operator)
    await browser.connect()
    await browser.receive_json_from(timeout=5)
    await browser.send_json_to({"type": "command", "ref": "7", "rig": "cam-left", "action": "spool.start",
                                "params": {"compression": "blosc-lz4"}})
    sent = await next_frame(browser, lambda m: m["type"] == "command")
    assert sent["ref"] == "7" and sent["error"] is None

    order = await agent.receive_json_from(timeout=5)
    assert order == {"type": "command", "id": sent["command"]["id"], "action": "spool.start",
                     "params": {"compression": "blosc-lz4"}, "issued_by": "olga"}
    await agent.send_json_to({"type": "reply", "rig": "cam-left", "id": order["id"], "ok": True, "result": {"file": "a.h5"}})
    done = await next_frame(browser, lambda m: any(c["state"] == "succeeded" for c in m.get("commands", [])))
    assert done["commands"][-1]["result"] == {"file": "a.h5"}
    command = await sync_to_async(Command.objects.get)(pk=order["id"])
    assert command.state == CommandState.SUCCEEDED
    await agent.disconnect()
    await browser.disconnect()


async def test_a_rig_connected_longer_than_the_group_expiry_still_gets_commands(application, rig_and_token, operator,
                                                                                 monkeypatch):
    # Channels' groups forget members added longer ago than group_expiry (a day by default; daphne closes sockets
    # after a day too, unless told otherwise), and a command to a forgotten rig went nowhere. Here the expiry is 1 s.
    monkeypatch.setattr(get_channel_layer(), "group_expiry", 1)
    _, token = rig_and_token
    agent = await agent_connect(application, token)
    browser = await browser_socket(application, user=operator)
    await browser.connect()
    await browser.receive_json_from(timeout=5)
    await asyncio.sleep(2.5)
    await browser.send_json_to({"type": "command", "ref": "8", "rig": "cam-left", "action": "spool.stop", "params": {}})
    sent = await next_frame(browser, lambda m: m["type"] == "command")
    assert sent["error"] is None
    order = await agent.receive_json_from(timeout=5)
    assert order["id"] == sent["command"]["id"] and order["action"] == "spool.stop"
    await agent.disconnect()
    await browser.disconnect()


async def test_a_command_to_an_offline_rig_is_refused(application, rig_and_token, operator):
    browser = await browser_socket(application, user=operator)
    await browser.connect()
    await browser.receive_json_from(timeout=5)
    await browser.send_json_to({"type": "command", "ref": "1", "rig": "cam-left", "action": "spool.stop"})
    answer = await next_frame(browser, lambda m: m["type"] == "command")
    assert "offline" in answer["error"]
    await browser.disconnect()


async def test_a_browser_can_ask_for_a_fresh_snapshot(application, rig_and_token, viewer):
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    await browser.receive_json_from(timeout=5)
    await browser.send_to(text_data=json.dumps({"type": "snapshot"}))
    again = await browser.receive_json_from(timeout=5)
    assert again["type"] == "snapshot" and rig_in(again, "cam-left")
    await browser.disconnect()


async def test_a_silent_agent_is_shown_offline_and_dropped(application, rig_and_token, viewer, settings):
    settings.LABWEB_RIG_SILENCE_SECONDS = 1.5  # production: 6 s, so a hung rig shows offline within 10 s
    _, token = rig_and_token
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    await browser.receive_json_from(timeout=5)
    agent = await agent_connect(application, token)  # says hello, then nothing more: a hung or cut-off rig
    await next_frame(browser, lambda m: (r := rig_in(m, "cam-left")) and r["online"])
    offline = await next_frame(browser, lambda m: (r := rig_in(m, "cam-left")) and not r["online"])
    assert offline["type"] == "frame"
    assert await agent.receive_output(timeout=5) == {"type": "websocket.close", "code": 4008}
    await browser.disconnect()


async def test_a_session_page_hears_its_session_change_as_the_rigs_report_it(application, rig_and_token, viewer):
    """What keeps a session page true without a reload: its entry on connect, and again with every change."""
    _, token = rig_and_token
    exp_ref = "2026-12-06_1_mouse_99"
    browser = await browser_socket(application, user=viewer)
    assert (await browser.connect())[0]
    await browser.receive_json_from(timeout=5)  # the snapshot
    await browser.send_json_to({"type": "session", "exp_ref": exp_ref})
    assert (await browser.receive_json_from(timeout=5)) == {"type": "sessions", "sessions": []}  # not known yet

    agent = await agent_connect(application, token)
    for seq, name in enumerate(("session.initialized", "session.started"), start=1):
        await agent.send_json_to({"type": "event", "rig": "cam-left", "seq": seq, "time": 1_800_000_000.0 + seq,
                                  "name": name, "data": {"exp_ref": exp_ref, "copy_state": 1}})
    frame = await next_frame(browser, lambda m: any(s["exp_ref"] == exp_ref and s["state"] == "running"
                                                    for s in m.get("sessions", [])))
    entry = next(s for s in frame["sessions"] if s["exp_ref"] == exp_ref)
    assert (entry["label"], entry["colour"]) == ("Running", "green")
    assert [(r["rig"], r["state"], r["copy_state"], r["copy_label"]) for r in entry["rigs"]] == [
        ("cam-left", "running", 1, "Pending")]
    await browser.send_json_to({"type": "session", "exp_ref": exp_ref})
    answer = await next_frame(browser, lambda m: m["type"] == "sessions")
    assert answer["sessions"][0]["state"] == "running"
    await agent.disconnect()
    await browser.disconnect()


async def test_a_browser_that_falls_behind_gets_a_snapshot_not_a_growing_queue(application, rig_and_token, viewer,
                                                                               monkeypatch):
    from labweb.live import consumers

    _, token = rig_and_token
    browser = await browser_socket(application, user=viewer)
    await browser.connect()
    await browser.receive_json_from(timeout=5)
    agent = await agent_connect(application, token)
    await next_frame(browser, lambda m: (r := rig_in(m, "cam-left")) and r["online"])

    monkeypatch.setattr(consumers, "_send_backlog", lambda consumer: 10**9)  # its socket stopped taking bytes
    await agent.send_json_to({"type": "status", "rig": "cam-left", "time": 1.0, "state": "spooling"})
    assert await browser.receive_nothing(timeout=0.5)  # held back, not queued
    monkeypatch.setattr(consumers, "_send_backlog", lambda consumer: 0)  # drained
    await agent.send_json_to({"type": "status", "rig": "cam-left", "time": 2.0, "state": "spooling"})
    caught_up = await browser.receive_json_from(timeout=5)
    assert caught_up["type"] == "snapshot" and rig_in(caught_up, "cam-left")["time"] == 2.0
    await agent.disconnect()
    await browser.disconnect()


def test_the_send_backlog_is_read_from_daphnes_transport():
    import functools
    from types import SimpleNamespace

    from labweb.live.consumers import _send_backlog

    transport = SimpleNamespace(dataBuffer=b"x" * 100, offset=30, _tempDataLen=5)
    protocol = SimpleNamespace(transport=transport)
    daphne_send = functools.partial(lambda protocol, message: None, protocol)  # what daphne gives the application
    # Channels' session middleware wraps it in a bound method whose instance keeps it as `real_send`.
    wrapper = type("Wrapper", (), {"send": lambda self, message: None, "real_send": daphne_send})()
    wrapped = SimpleNamespace(base_send=wrapper.send)
    assert _send_backlog(wrapped) == 75
    assert _send_backlog(SimpleNamespace(base_send=lambda message: None)) is None  # not daphne: unknown
