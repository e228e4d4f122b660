"""10,000 hostile echo messages to a real agent's echo listener, over UDP and over TCP: the listener keeps
answering, the rig stays online, no folder is named by a bad exp_ref, nothing logs a traceback, and every event
the agent recorded reaches the dashboard (none lost, none twice; a refused one is kept in its quarantine)."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time

import pytest

from rigs.echo import EchoEndpoint
from rigs.layout import LayoutError, subject_check
from tests.processes import wait_until

from .conftest import MESSAGES, TIME_CAP_S, Agent
from .hostile import echo_message

pytestmark = pytest.mark.slow

EXP_REFS = ["2024-05-01_1_fuzzmouse", "2024-05-01_2_fuzzmouse", "../../etc", "2024-05-01_1_../../etc",
            "2024-05-01_1_add", "2024-02-30_1_m", "2024-05-01_1_a.b", "x" * 300]


def _drain(sock: socket.socket, stop: threading.Event) -> None:
    """Read and forget what the rig sends back (echoes, replies), until the socket is closed by the storm."""
    stream = sock.type == socket.SOCK_STREAM
    try:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                if not sock.recv(65536) and stream:
                    return
            except TimeoutError:
                continue
    except (OSError, ValueError):  # closed under us: done
        return


def _storm_udp(port: int, rng, stop: threading.Event) -> None:
    peers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
    for peer in peers:
        peer.bind(("127.0.0.1", 0))
        threading.Thread(target=_drain, args=(peer, stop), daemon=True).start()
    started = time.monotonic()
    for i in range(MESSAGES):
        assert time.monotonic() - started < TIME_CAP_S, f"only {i} datagrams sent in {TIME_CAP_S} s"
        datagram = echo_message(rng, EXP_REFS)[:65_000]
        peers[i % len(peers)].sendto(datagram, ("127.0.0.1", port))
        if i % 200 == 0:
            time.sleep(0.02)  # a few bursts, not one: the socket buffer would only drop the rest
    for peer in peers:
        peer.close()


def _storm_tcp(port: int, rng, stop: threading.Event) -> None:
    started, sent, streams = time.monotonic(), 0, []
    while sent < MESSAGES:
        assert time.monotonic() - started < TIME_CAP_S, f"only {sent} messages sent in {TIME_CAP_S} s"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as stream:
            threading.Thread(target=_drain, args=(stream, stop), daemon=True).start()
            for _ in range(rng.randrange(5, 60)):  # several messages per write, some cut between writes
                chunk = b"".join(echo_message(rng, EXP_REFS) for _ in range(rng.randrange(1, 4))) or b"[]"
                stream.sendall(chunk[: rng.randrange(1, len(chunk) + 1)] if rng.random() < 0.05 else chunk)
                sent += 1
            if rng.random() < 0.3:
                stream.sendall(b"[1, {\"exp_ref\": \"2024-05-01_1_fu")  # closed mid-message
            streams.append(sent)


async def _still_answers(uri: str) -> list:
    endpoint = await EchoEndpoint.connect(uri)
    try:
        return (await endpoint.request(32, 0, timeout=10)).payload
    finally:
        endpoint.close()


def _wait_until_caught_up(agent, quiet: float = 1.0, limit: float = 60.0) -> None:
    """Until the agent has recorded no new event for `quiet` seconds: the storm's backlog is behind it."""
    deadline = time.monotonic() + limit
    last, since = agent.outbox_state()[2], time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the agent was still working through the storm after a minute"
        time.sleep(0.2)
        seq = agent.outbox_state()[2]
        if seq != last:
            last, since = seq, time.monotonic()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_echo_listener_survives_a_storm_and_no_event_is_lost(dashboard, rng, tmp_path, transport):
    dashboard.start()
    agent = Agent(tmp_path, dashboard, "fuzz-echo", transport)
    try:
        wait_until(lambda: dashboard.query("result = Rig.objects.get(name='fuzz-echo').online"), 30, "the rig online")
        stop = threading.Event()
        started = time.monotonic()
        (_storm_udp if transport == "udp" else _storm_tcp)(agent.echo_port, rng, stop)
        elapsed = time.monotonic() - started
        _wait_until_caught_up(agent)  # what the storm queued in the sockets' buffers is read and answered first
        status = asyncio.run(_still_answers(agent.echo))  # a real main still gets its answer
        assert len(status) == 1 and status[0] in (0, 10, 20, 30)
        stop.set()
        wait_until(lambda: agent.outbox_state()[0] == 0, 120, "the agent's outbox to drain into the dashboard")
        pending, quarantined, last_seq = agent.outbox_state()
        stored = dashboard.query("result = sorted(RigEvent.objects.filter(rig__name='fuzz-echo')"
                                 ".values_list('seq', flat=True))")
        print(f"{MESSAGES} {transport} messages in {elapsed:.1f} s; {last_seq} events recorded, {len(stored)} stored,"
              f" {quarantined} quarantined")
        assert len(stored) == len(set(stored)) == last_seq - quarantined  # every event, once
        assert stored[-1] == last_seq
        assert dashboard.query("result = Rig.objects.get(name='fuzz-echo').online") is True
    finally:
        assert agent.stop() == 0
    subjects = tmp_path / "fuzz-echo-data" / "Subjects"
    for folder in subjects.iterdir() if subjects.exists() else []:
        try:
            subject_check(folder.name)
        except LayoutError:
            pytest.fail(f"a bad subject named a folder: {folder}")
    assert not (tmp_path / "etc").exists() and not (tmp_path.parent / "etc").exists()
    assert not dashboard.query("from labweb.records.models import Subject\n"
                               "result = list(Subject.objects.filter(name__in=['add', 'etc']).values_list('name'))")
    daphne = (dashboard.data_dir / "daphne.log").read_text()
    assert "Traceback" not in daphne, daphne[daphne.index("Traceback") - 300:][:3000]
    text = agent.log.read_text()
    assert len(re.findall(r"dropped input from", text)) <= 10  # once a minute per peer, not per datagram
    assert len(re.findall(r"reports that its .* handler failed", text)) <= 10
    assert len(re.findall(r"no echo from \S+ for .* \(attempt", text)) <= 10
    # a refused hostile request is one warning line; a traceback means a handler broke on input it should refuse
    assert "Traceback" not in text, text[text.index("Traceback") - 300:][:3000]
