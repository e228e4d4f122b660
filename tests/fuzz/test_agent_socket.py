"""10,000 hostile messages on the agent socket of a real dashboard: every one answered, the socket kept, the rig
online, the dashboard socket answering, no traceback in the dashboard's log, and no valid event lost."""

from __future__ import annotations

import json
import threading
import time

import pytest
from websockets.sync.client import connect

from rigs.messages import MAX_MESSAGE_BYTES
from tests.processes import wait_until

from .conftest import MESSAGES, TIME_CAP_S, add_user, login_cookie
from .hostile import hostile_text

pytestmark = pytest.mark.slow

RIG = "fuzz-rig"
TEMPLATES = [
    {"type": "hello", "rig": RIG, "kind": "video", "version": "fuzz", "capabilities": ["spool.start"], "next_seq": 1},
    {"type": "status", "rig": RIG, "time": 1.7e9, "state": "idle", "disk": {"path": "/d", "total": 10, "free": 5},
     "spool": {"frames": 1, "fps": 2.5}},
    {"type": "event", "rig": RIG, "seq": 3, "time": 1.7e9, "name": "fuzz.event", "data": {"n": 1}},
    {"type": "preview", "rig": RIG, "time": 1.7e9, "png": "iVBORw0KGgo=", "width": 2, "height": 2},
    {"type": "reply", "rig": RIG, "id": "00000000-0000-0000-0000-000000000000", "ok": True, "result": {}},
]
FINAL = range(1000, 1100)  # valid events after the storm: every one must be stored and acked


class Reader(threading.Thread):
    """Drains the socket: counts every answer, keeps the acked seqs, notes a close."""

    def __init__(self, ws) -> None:
        super().__init__(daemon=True)
        self.ws, self.errors, self.acked, self.closed = ws, 0, set(), None

    def run(self) -> None:
        try:
            for text in self.ws:
                message = json.loads(text)
                if message["type"] == "error":
                    self.errors += 1
                elif message["type"] == "ack":
                    self.acked.update(message["seqs"])
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            self.closed = exc
        else:
            self.closed = "closed"


def _heartbeat(ws, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            ws.send(json.dumps({**TEMPLATES[1], "time": time.time()}))
        except Exception:  # noqa: BLE001 - the socket closed: the test's own checks say so
            return


def test_agent_socket_survives_a_storm_of_hostile_messages(dashboard, rng):
    token = dashboard.add_rig(RIG)
    add_user(dashboard, "watcher", "watcher-pw-1", operator=False)
    dashboard.start()
    url = f"ws://127.0.0.1:{dashboard.port}/ws/agent/"
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=2**22) as ws:
        ws.send(json.dumps(TEMPLATES[0]))
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
        reader = Reader(ws)
        reader.start()
        started = time.monotonic()
        for i in range(MESSAGES):
            assert time.monotonic() - started < TIME_CAP_S, f"only {i} messages sent in {TIME_CAP_S} s"
            if i % 20 == 0:  # a live rig's heartbeat in between (100 bad messages in a row close a socket)
                ws.send(json.dumps({**TEMPLATES[1], "time": time.time()}))
            message = hostile_text(TEMPLATES, rng, max_bytes=MAX_MESSAGE_BYTES)
            if rng.random() < 0.05:
                ws.send(message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message)
            else:
                ws.send(message if isinstance(message, str) else message.decode("latin1"))
        elapsed = time.monotonic() - started
        for seq in FINAL:
            ws.send(json.dumps({**TEMPLATES[2], "seq": seq, "time": time.time(), "data": {"final": seq}}))
        # A live rig keeps sending statuses while the checks below run (each query is a process of its own, and a
        # rig silent for LABWEB_RIG_SILENCE_SECONDS is rightly marked offline).
        heartbeat = threading.Event()
        threading.Thread(target=_heartbeat, args=(ws, heartbeat), daemon=True).start()
        wait_until(lambda: set(FINAL) <= reader.acked or reader.closed, 60, "the final events to be acked")
        assert reader.closed is None, f"the socket was closed: {reader.closed}"
        assert set(FINAL) <= reader.acked
        print(f"{MESSAGES} hostile messages in {elapsed:.1f} s; {reader.errors} answered with an error")
        assert reader.errors > MESSAGES // 2  # most were refused, each with an answer

        stored = dashboard.query(f"result = sorted(RigEvent.objects.filter(rig__name={RIG!r}, seq__gte=1000)"
                                 ".values_list('seq', flat=True))")
        assert stored == list(FINAL)  # no event lost, none twice
        assert dashboard.query(f"result = Rig.objects.get(name={RIG!r}).online") is True

        cookie = login_cookie(dashboard, "watcher", "watcher-pw-1")
        with connect(f"ws://127.0.0.1:{dashboard.port}/ws/dashboard/", additional_headers={
                "Cookie": cookie, "Origin": dashboard.url}) as browser:
            snapshot = json.loads(browser.recv(timeout=10))
            assert snapshot["type"] == "snapshot"
            assert next(r for r in snapshot["rigs"] if r["rig"] == RIG)["online"] is True
        heartbeat.set()
    log = (dashboard.data_dir / "daphne.log").read_text()
    assert "Traceback" not in log, log[log.index("Traceback") - 500:][:3000]
