"""The agent's link over a real websocket on loopback: it never dies silently, an unsendable or refused event
never blocks the ones behind it, and the backoff starts afresh after a good connection."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from websockets.asyncio.server import serve

from rigs import link as link_module
from rigs.link import BACKOFF_FIRST, DashboardLink
from rigs.outbox import EventOutbox


class FakeDashboard:
    """Speaks the dashboard's side of the link: welcome, acks; refuses for good the events named `refuse`."""

    def __init__(self, *, echo_hosts=None, close_after_welcome: bool = False) -> None:
        self.hellos = 0
        self.events: list[dict] = []
        self.echo_hosts = echo_hosts
        self.close_after_welcome = close_after_welcome
        self.sockets = []

    async def handler(self, ws) -> None:
        self.sockets.append(ws)
        async for text in ws:
            message = json.loads(text)
            if message["type"] == "hello":
                self.hellos += 1
                welcome = {"type": "welcome", "rig": message["rig"], "last_seq": 0}
                if self.echo_hosts is not None:
                    welcome["echo_hosts"] = self.echo_hosts
                await ws.send(json.dumps(welcome))
                if self.close_after_welcome:
                    await ws.close()
                    return
            elif message["type"] == "event" and message["name"] == "refuse":
                await ws.send(json.dumps({"type": "error", "error": "refused for good", "seq": message["seq"]}))
            elif message["type"] == "event":
                self.events.append(message)
                await ws.send(json.dumps({"type": "ack", "seqs": [message["seq"]]}))


async def _until(predicate, what: str, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def _run_link(dashboard: FakeDashboard, outbox: EventOutbox, **kwargs):
    server = await serve(dashboard.handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    status = kwargs.pop("status", lambda: {"type": "status", "rig": "r", "time": time.time(), "state": "idle"})
    link = DashboardLink(url=f"ws://127.0.0.1:{port}/ws/agent/", token="t", rig="r", outbox=outbox,
                         hello=lambda: {"type": "hello", "rig": "r", "kind": "video", "version": "test"},
                         status=status, on_command=_no_command, status_interval=0.2, **kwargs)
    task = asyncio.ensure_future(link.run())
    return server, link, task


async def _no_command(command):
    return {}


async def _stop(server, task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    server.close()
    await server.wait_closed()


async def test_an_unsendable_event_left_by_an_older_agent_is_sent_normalised_and_blocks_nothing(tmp_path):
    """Issue 14: a `[32, NaN]` echo payload stored as is killed every link, across restarts."""
    outbox = EventOutbox(tmp_path / "events.sqlite3")
    # What an older agent stored: json.dumps(default=str) writes NaN as a bare token.
    outbox._db.execute("INSERT INTO events (time, name, data) VALUES (?, ?, ?)",
                       (time.time(), "echo.message", '{"payload":[32,NaN],"n":18446744073709551616}'))
    outbox.append("after", {"n": 1})
    dashboard = FakeDashboard()
    server, link, task = await _run_link(dashboard, outbox)
    try:
        await _until(lambda: len(dashboard.events) == 2 and outbox.count() == 0, "both events to be acked")
    finally:
        await _stop(server, task)
    assert dashboard.events[0]["data"] == {"payload": [32, "NaN"], "n": "18446744073709551616"}
    assert [e["name"] for e in dashboard.events] == ["echo.message", "after"]


async def test_an_event_refused_for_good_is_quarantined_and_reported_and_the_rest_flows(tmp_path):
    outbox = EventOutbox(tmp_path / "events.sqlite3")
    refused = outbox.append("refuse", {"why": "test"})
    for n in range(5):
        outbox.append("after", {"n": n})
    dashboard = FakeDashboard()
    server, link, task = await _run_link(dashboard, outbox)
    try:
        await _until(lambda: outbox.count() == 0 and len(dashboard.events) == 6, "the rest to be delivered")
    finally:
        await _stop(server, task)
    assert [e["data"]["n"] for e in dashboard.events if e["name"] == "after"] == list(range(5))
    report = next(e for e in dashboard.events if e["name"] == "outbox.quarantined")
    assert report["data"]["seq"] == refused["seq"] and "refused for good" in report["data"]["reason"]
    assert outbox.quarantined()[0]["seq"] == refused["seq"]  # kept on the rig


async def test_an_unexpected_error_is_logged_and_followed_by_a_reconnect(tmp_path, caplog):
    calls = {"n": 0}

    def status():
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in a status part")
        return {"type": "status", "rig": "r", "time": time.time(), "state": "idle"}

    outbox = EventOutbox(tmp_path / "events.sqlite3")
    dashboard = FakeDashboard()
    with caplog.at_level(logging.ERROR, logger="rigs.link"):
        server, link, task = await _run_link(dashboard, outbox, status=status)
        try:
            await _until(lambda: dashboard.hellos >= 2 and link.connected.is_set(), "the link to come back")
            outbox.append("still", {"ok": True})
            link.events_added()
            await _until(lambda: outbox.count() == 0, "an event after the reconnect")
        finally:
            await _stop(server, task)
    assert "dashboard link failed unexpectedly" in caplog.text and "a bug in a status part" in caplog.text


async def test_echo_hosts_from_welcome_and_registry_reach_the_agent(tmp_path):
    seen: list[list[str]] = []
    dashboard = FakeDashboard(echo_hosts=["10.0.0.5", "rig2.lab"])
    server, link, task = await _run_link(dashboard, EventOutbox(tmp_path / "e.sqlite3"), on_echo_hosts=seen.append)
    try:
        await _until(lambda: seen, "the welcome's echo hosts")
        await dashboard.sockets[0].send(json.dumps({"type": "registry", "echo_hosts": ["10.0.0.6"]}))
        await _until(lambda: len(seen) == 2, "the registry update")
    finally:
        await _stop(server, task)
    assert seen == [["10.0.0.5", "rig2.lab"], ["10.0.0.6"]]


def test_the_backoff_starts_afresh_after_a_good_connection(tmp_path):
    """Issue 14: after a few dashboard restarts a rig took 10-12 s to come back, however long it had been up."""
    link = DashboardLink(url="ws://127.0.0.1:9/", token="t", rig="r", outbox=EventOutbox(tmp_path / "e.sqlite3"),
                         hello=dict, status=dict, on_command=_no_command)
    delays = [link.next_delay() for _ in range(6)]  # no connection at all: the backoff grows to its cap
    assert delays == sorted(delays) and delays[-1] > 5
    link.welcomed_at = time.monotonic() - link_module.STABLE_SECONDS - 1  # welcomed, and up long enough
    assert link.next_delay() == BACKOFF_FIRST
    link.welcomed_at = time.monotonic()  # welcomed and dropped at once: no hammering
    assert link.next_delay() > BACKOFF_FIRST


async def test_a_dashboard_that_keeps_dropping_the_rig_gets_a_growing_backoff(tmp_path):
    dashboard = FakeDashboard(close_after_welcome=True)
    server, link, task = await _run_link(dashboard, EventOutbox(tmp_path / "e.sqlite3"))
    try:
        await _until(lambda: dashboard.hellos >= 3, "three connections")
    finally:
        await _stop(server, task)
    assert link.failures >= 2
