"""Hostile echo input over real UDP on loopback: deep nesting and garbage are dropped without a traceback and
logged once a minute per peer; what a peer sends becomes a bounded number of records."""

from __future__ import annotations

import asyncio
import logging
import socket

from rigs.echo.events import MessageEvent, RecordLimiter
from rigs.echo.transport import EchoEndpoint


async def test_deep_nesting_and_garbage_are_dropped_quietly_and_the_endpoint_keeps_answering(caplog):
    received = []
    endpoint = await EchoEndpoint.listen("udp://127.0.0.1:0", on_message=lambda m, a: received.append(m.code))
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(5)
    hostile = [b"[" * 30_000 + b"]" * 30_000, b"\xff\xfe", b"[32, ", b"{}", b"[\"a\"]", b"[99999]", b"[]"] * 20

    def send_all() -> bytes:
        for datagram in hostile:
            peer.sendto(datagram, endpoint.endpoint.addr)
        peer.settimeout(0.5)
        for _ in range(20):  # UDP: the socket buffer may have overflowed under the flood, so ask until answered
            peer.sendto(b"[32, 20]", endpoint.endpoint.addr)
            try:
                return peer.recv(100)
            except TimeoutError:
                continue
        return b""

    try:
        with caplog.at_level(logging.DEBUG):
            assert await asyncio.to_thread(send_all) == b"[32, 20]"
    finally:
        peer.close()
        endpoint.close()
    assert received and set(received) == {32}
    assert 0 < endpoint.dropped <= len(hostile)
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text
    dropped_lines = [r for r in caplog.records if r.levelno >= logging.WARNING and "dropped input" in r.getMessage()]
    assert len(dropped_lines) == 1  # one line a minute per peer, however many datagrams


def _event(port: int, name: str = "EXPSTATUS") -> MessageEvent:
    return MessageEvent("rig", "received", "request", ("10.0.0.9", port), 32, [0])


def test_echo_traffic_becomes_a_bounded_number_of_records():
    now = [0.0]
    reports: list[tuple[str, dict]] = []
    limiter = RecordLimiter(lambda peer, summary: reports.append((peer, summary)), rate=2.0, burst=60,
                            report_every=60.0, clock=lambda: now[0])
    admitted = sum(limiter.admit(_event(5000)) for _ in range(10_000))
    assert admitted == 60  # the burst; a real session's handful of messages is never held back
    now[0] += 30
    admitted += sum(limiter.admit(_event(5000)) for _ in range(1000))
    assert admitted == 60 + 60  # 30 s at 2 per second
    assert limiter.suppressed == 10_000 + 1000 - 120
    limiter.flush()
    assert sum(summary["count"] for _, summary in reports) == limiter.suppressed
    assert len(reports) <= 3  # summaries, not one record per datagram
    assert reports[0][1]["messages"] == {"EXPSTATUS": reports[0][1]["count"]}


def test_many_peers_do_not_grow_the_limiter_without_bound():
    limiter = RecordLimiter(lambda peer, summary: None, max_peers=100)
    for port in range(5000):
        limiter.admit(MessageEvent("rig", "received", "request", (f"10.0.{port // 250}.{port % 250}", port), 32, [0]))
    assert len(limiter._buckets) <= 100
