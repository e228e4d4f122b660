"""The echo allow-list over real sockets on loopback: a peer not on it gets no echo, no answer and no handler
call, is counted, and is logged at most once a minute; the dashboard's host list replaces the previous one."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from rigs.echo.allow import PeerAllowList, networks_parse
from rigs.echo.transport import EchoEndpoint

ALLOWED, STRANGER = "127.0.0.2", "127.0.0.3"  # Linux routes all of 127/8 to loopback


def _udp_from(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(5)
    return sock


@pytest.fixture
async def listener():
    received = []
    allow = PeerAllowList([ALLOWED], loopback=False)
    endpoint = await EchoEndpoint.listen("udp://127.0.0.1:0", on_message=lambda m, a: received.append((m, a)),
                                         allow=allow)
    yield endpoint, allow, received
    endpoint.close()


async def test_a_stranger_gets_no_echo_and_starts_nothing(listener):
    endpoint, allow, received = listener
    stranger, friend = _udp_from(STRANGER), _udp_from(ALLOWED)
    try:
        stranger.sendto(b"[1, {\"exp_ref\": \"2024-01-02_1_mouse\"}]", endpoint.endpoint.addr)
        friend.sendto(b"[32, 0]", endpoint.endpoint.addr)
        assert await asyncio.to_thread(friend.recv, 100) == b"[32, 0]"  # the friend's echo: both have arrived
        stranger.setblocking(False)
        with pytest.raises(BlockingIOError):
            stranger.recv(100)
    finally:
        stranger.close()
        friend.close()
    assert [(m.code, a[0]) for m, a in received] == [(32, ALLOWED)]
    assert allow.stats()["refused"] == 1 and allow.stats()["last_peer"].startswith(STRANGER)


async def test_refusals_are_logged_at_most_once_a_minute(caplog):
    now = [1000.0]
    allow = PeerAllowList([], loopback=False, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="rigs.echo.allow"):
        for port in range(100):
            allow.refuse((STRANGER, 2000 + port))
        now[0] += 61
        allow.refuse((STRANGER, 1))
    lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 2 and "refused 100 echo" in lines[1].getMessage()  # the second says how many since
    assert allow.refused == 101


async def test_tcp_connections_from_strangers_are_dropped_unread():
    received = []
    allow = PeerAllowList([ALLOWED], loopback=False)
    endpoint = await EchoEndpoint.listen("tcp://127.0.0.1:0", on_message=lambda m, a: received.append(m), allow=allow)
    try:
        def talk(host: str) -> bytes:
            with socket.create_connection(endpoint.endpoint.addr, timeout=5, source_address=(host, 0)) as sock:
                sock.sendall(b"[32, 0]")
                try:
                    return sock.recv(100)
                except ConnectionResetError:
                    return b""

        assert await asyncio.to_thread(talk, STRANGER) == b""
        assert await asyncio.to_thread(talk, ALLOWED) == b"[32, 0]"
    finally:
        endpoint.close()
    assert [m.code for m in received] == [32]
    assert allow.refused == 1


def test_entries_are_addresses_networks_or_host_names():
    networks, names = networks_parse(["10.0.0.5", "10.1.0.0/16", "fe80::/64", "[::1]", "rig-3.lab"])
    assert [str(n) for n in networks] == ["10.0.0.5/32", "10.1.0.0/16", "fe80::/64", "::1/128"]
    assert names == ["rig-3.lab"]
    for bad in ("10.0.0.1/24", "300.1.1.1", "rig 3", "a/b"):
        with pytest.raises(ValueError, match="echo_allow"):
            networks_parse([bad])


def test_what_is_allowed():
    allow = PeerAllowList(["10.1.0.0/16"])
    assert allow.allows("127.0.0.1") and allow.allows("::1") and allow.allows("10.1.2.3")
    assert allow.allows("::ffff:10.1.2.3")  # an IPv4 peer on a dual-stack socket
    assert not allow.allows("10.2.0.1") and not allow.allows("not-an-address")
    assert not PeerAllowList([], loopback=False).allows("127.0.0.1")


def test_the_dashboards_hosts_replace_the_previous_list_and_names_resolve():
    allow = PeerAllowList([], loopback=False)
    allow.update(["10.0.0.5", "localhost"])
    assert allow.allows("10.0.0.5")
    deadline = time.monotonic() + 10
    while not allow.allows("127.0.0.1") and time.monotonic() < deadline:  # resolved in a thread
        time.sleep(0.02)
    assert allow.allows("127.0.0.1")
    allow.update(["10.0.0.6", "not a host!"])  # a bad entry is skipped, the rest applies
    assert allow.allows("10.0.0.6") and not allow.allows("10.0.0.5") and not allow.allows("127.0.0.1")
