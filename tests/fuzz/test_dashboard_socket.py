"""10,000 hostile messages on the dashboard socket of a real dashboard, from a viewer and an operator: every
one answered, both sockets kept, refused commands bounded in the database, no command left "sent", no
traceback in the dashboard's log, and the rig online throughout."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from labweb.live.inputs import MAX_BROWSER_MESSAGE_BYTES
from tests.processes import wait_until

from .conftest import MESSAGES, TIME_CAP_S, add_user, login_cookie
from .hostile import hostile_text

pytestmark = pytest.mark.slow

RIG = "fuzz-cam"
TEMPLATES = [
    {"type": "snapshot"},
    {"type": "command", "ref": "1", "rig": RIG, "action": "spool.start", "params": {"max_frames": 10}},
    {"type": "command", "ref": "2", "rig": RIG, "action": "spool.stop", "params": {}},
    {"type": "command", "ref": "3", "rig": RIG, "action": "session.start",
     "params": {"subject": "m1", "rigs": {RIG: "udp://127.0.0.1:11001"}}},
]


class FakeAgent(threading.Thread):
    """The rig's agent: keeps the rig online with statuses and answers every command it is sent."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.commands, self.stop = url, token, 0, threading.Event()

    def run(self) -> None:
        with connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"}) as ws:
            ws.send(json.dumps({"type": "hello", "rig": RIG, "kind": "video", "version": "fuzz"}))
            next_status = 0.0
            while not self.stop.is_set():
                if time.monotonic() >= next_status:
                    ws.send(json.dumps({"type": "status", "rig": RIG, "time": time.time(), "state": "idle"}))
                    next_status = time.monotonic() + 0.5
                try:
                    message = json.loads(ws.recv(timeout=0.1))
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return  # the dashboard stopped; the test says whether it should have
                if message["type"] == "command":
                    self.commands += 1
                    ws.send(json.dumps({"type": "reply", "rig": RIG, "id": message["id"], "ok": True, "result": {}}))


class Browser(threading.Thread):
    """A logged-in browser's socket: counts what comes back, notes a close."""

    def __init__(self, ws) -> None:
        super().__init__(daemon=True)
        self.ws, self.answers, self.snapshots, self.closed = ws, 0, 0, None

    def run(self) -> None:
        try:
            for text in self.ws:
                message = json.loads(text)
                self.answers += message["type"] in ("error", "command")
                self.snapshots += message["type"] == "snapshot"
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            self.closed = exc
        else:
            self.closed = "closed"


def test_dashboard_socket_survives_a_storm_of_hostile_messages(dashboard, rng):
    token = dashboard.add_rig(RIG)
    add_user(dashboard, "vera", "vera-fuzz-pw", operator=False)
    add_user(dashboard, "olga", "olga-fuzz-pw", operator=True)
    dashboard.start()
    agent = FakeAgent(f"ws://127.0.0.1:{dashboard.port}/ws/agent/", token)
    agent.start()
    wait_until(lambda: dashboard.query(f"result = Rig.objects.get(name={RIG!r}).online"), 30, "the rig online")
    url = f"ws://127.0.0.1:{dashboard.port}/ws/dashboard/"
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(url, max_size=2**24, additional_headers={
            "Cookie": login_cookie(dashboard, user, password), "Origin": dashboard.url}))
            for user, password in (("vera", "vera-fuzz-pw"), ("olga", "olga-fuzz-pw"))]
        browsers = [Browser(ws) for ws in sockets]
        for browser in browsers:
            browser.start()
        started = time.monotonic()
        for i in range(MESSAGES):
            assert time.monotonic() - started < TIME_CAP_S, f"only {i} messages sent in {TIME_CAP_S} s"
            message = hostile_text(TEMPLATES, rng, max_bytes=MAX_BROWSER_MESSAGE_BYTES)
            ws = sockets[i % 2]
            ws.send(message if isinstance(message, str) else message.decode("latin1"))
        elapsed = time.monotonic() - started
        for ws in sockets:
            ws.send(json.dumps({"type": "snapshot"}))
        wait_until(lambda: all(b.snapshots >= 2 or b.closed for b in browsers), 60, "a fresh snapshot on both sockets")
        print(f"{MESSAGES} hostile messages in {elapsed:.1f} s; answers {[b.answers for b in browsers]}; "
              f"{agent.commands} commands reached the rig")
        assert [b.closed for b in browsers] == [None, None], "a browser socket was closed"
    wait_until(lambda: dashboard.query("result = Command.objects.filter(state='sent').count()") == 0, 30,
               "every command sent to the rig to be answered")
    refused = dashboard.query("result = Command.objects.filter(state='refused').count()")
    minutes = elapsed / 60 + 1
    assert refused <= 2 * 20 * (minutes + 1)  # bounded per user and minute, whatever was sent
    assert dashboard.query(f"result = Rig.objects.get(name={RIG!r}).online") is True
    agent.stop.set()
    agent.join(timeout=10)
    log = (dashboard.data_dir / "daphne.log").read_text()
    assert "Traceback" not in log, log[log.index("Traceback") - 500:][:3000]
