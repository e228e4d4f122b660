"""Real loopback sockets against misbehaving peers: lost, late, duplicated, truncated and garbage input."""

from __future__ import annotations

import asyncio
import json

import pytest

from rigs.echo import EchoRig, EchoTimeout, MessageTooLarge, RemoteError, RemoteRig
from rigs.echo.wire import encode

# Short enough to see resends quickly; tests that must not see a resend use the slower setting,
# so a loaded machine does not turn a slow test step into an unexpected resend.
FAST = {"echo_timeout": 0.1, "attempts": 3}
SLOW = {"echo_timeout": 0.6, "attempts": 3}
pytestmark = pytest.mark.timeout(20)


@pytest.fixture
async def main_to(raw_peer):
    """A RemoteRig (the main's side) talking to the raw peer."""
    rig = await RemoteRig.connect(f"udp://127.0.0.1:{raw_peer.addr[1]}", "fake", **SLOW)
    yield rig
    rig.close()


@pytest.fixture
async def resending_main_to(raw_peer):
    """The same with a short echo timeout, for the tests about resending."""
    rig = await RemoteRig.connect(f"udp://127.0.0.1:{raw_peer.addr[1]}", "fake", **FAST)
    yield rig
    rig.close()


async def test_lost_request_is_resent(raw_peer, resending_main_to):
    task = asyncio.create_task(resending_main_to.init({"exp_ref": "2024-01-01_1_foo"}, timeout=2))
    first, addr = await raw_peer.next()  # dropped: no echo
    again, _ = await raw_peer.next()
    assert again == first
    raw_peer.sendto(again, addr)
    raw_peer.sendto(encode(1, {"status": 10}), addr)
    assert await task == [{"status": 10}]
    assert await raw_peer.next_except(first) == (encode(1, {"status": 10}), addr)


async def test_late_echo_is_not_echoed_back(raw_peer, resending_main_to):
    task = asyncio.create_task(resending_main_to.status(20, timeout=2))
    request, addr = await raw_peer.next()
    retry, _ = await raw_peer.next()  # our echo comes too late: the main resent
    raw_peer.sendto(request, addr)
    raw_peer.sendto(retry, addr)
    reply = encode(32, 30)
    raw_peer.sendto(reply, addr)
    assert await task == [30]
    # the reply is echoed, and neither echo is sent back (a late one taken as new would start a ping-pong)
    assert await raw_peer.next_except(request) == (reply, addr)
    assert await raw_peer.nothing(but=request)


async def test_duplicated_reply_is_harmless(raw_peer, main_to):
    task = asyncio.create_task(main_to.cleanup(timeout=2))
    request, addr = await raw_peer.next()
    raw_peer.sendto(request, addr)
    reply = encode(8, {"status": 30})
    raw_peer.sendto(reply, addr)
    raw_peer.sendto(reply, addr)
    assert await task == [{"status": 30}]
    assert [await raw_peer.next() for _ in range(2)] == [(reply, addr)] * 2
    follow_up = asyncio.create_task(main_to.status(20, timeout=2))  # the endpoint still works
    request, _ = await raw_peer.next()
    raw_peer.sendto(request, addr)
    raw_peer.sendto(encode(32, 30), addr)
    assert await follow_up == [30]


async def test_reply_arriving_before_the_echo_is_taken_as_a_new_message(raw_peer, main_to):
    task = asyncio.create_task(main_to.start("2024-01-01_1_foo", timeout=2))
    request, addr = await raw_peer.next()
    reply = encode(2, "2024-01-01_1_foo", {"frames": 0})
    raw_peer.sendto(reply, addr)
    assert await raw_peer.next() == (reply, addr)  # echoed although the main was waiting for its own echo
    assert await task == ["2024-01-01_1_foo", {"frames": 0}]
    raw_peer.sendto(request, addr)  # the echo, last
    assert await raw_peer.nothing()  # and no resend: the reply proved delivery


async def test_garbage_while_waiting_is_dropped(raw_peer, main_to):
    task = asyncio.create_task(main_to.init(timeout=2))
    request, addr = await raw_peer.next()
    for junk in (b"\xff\x00junk", b'[1, {"exp_ref": "2024-01-', b'{"not": "a list"}', b"[7, null]", b"[10, null]"):
        raw_peer.sendto(junk, addr)
    raw_peer.sendto(request, addr)
    raw_peer.sendto(encode(1, {"status": 10}), addr)
    assert await task == [{"status": 10}]
    assert await raw_peer.next() == (encode(1, {"status": 10}), addr)  # only the reply is echoed
    assert await raw_peer.nothing()


async def test_no_echo_at_all_gives_up_but_does_not_close(raw_peer, resending_main_to):
    with pytest.raises(EchoTimeout):
        await resending_main_to.init(timeout=5)
    sends = [await raw_peer.next() for _ in range(FAST["attempts"])]
    assert len({raw for raw, _ in sends}) == 1 and await raw_peer.nothing(0.2)
    assert resending_main_to.is_connected
    task = asyncio.create_task(resending_main_to.init(timeout=2))
    request, addr = await raw_peer.next()
    raw_peer.sendto(request, addr)
    raw_peer.sendto(encode(1, {}), addr)
    assert await task == [{}]


async def test_error_report_fails_the_request_at_once(raw_peer, main_to):
    task = asyncio.create_task(main_to.init(timeout=5))
    request, addr = await raw_peer.next()
    raw_peer.sendto(request, addr)
    raw_peer.sendto(b'[0, "OSError: disk full", 1]', addr)
    with pytest.raises(RemoteError, match="disk full"):
        await asyncio.wait_for(task, 1)
    assert await raw_peer.nothing()  # error reports are not echoed


async def test_udp_message_over_the_size_limit_is_refused(main_to):
    with pytest.raises(MessageTooLarge):
        await main_to.init({"blob": "x" * 70_000}, timeout=1)


# -- the listening rig against a raw main -----------------------------------------------------

@pytest.fixture
async def counting_rig():
    calls: list[str] = []

    async def on_init(request):
        calls.append(request.exp_ref)

    async def on_start(request):
        raise RuntimeError("camera not found")

    rig = EchoRig("udp://127.0.0.1:0", "cam", on_init=on_init, on_start=on_start, **SLOW)
    await rig.start()
    rig.calls = calls
    yield rig
    await rig.close()


def _addr(rig: EchoRig) -> tuple[str, int]:
    host, port = rig.endpoint_uri.removeprefix("udp://").split(":")
    return host, int(port)


async def _exchange(peer, rig_addr, request: bytes) -> bytes:
    """Send a request, check its echo, echo the reply back and return it."""
    peer.sendto(request, rig_addr)
    assert await peer.next() == (request, rig_addr)
    reply, _ = await peer.next()
    peer.sendto(reply, rig_addr)
    return reply


async def test_rig_ignores_malformed_input_and_keeps_answering(raw_peer, counting_rig):
    rig_addr = _addr(counting_rig)
    for junk in (b"\xfe\xff", b"[1, {", b'"EXPINIT"', b"{}", b"[3, null]", b"[true]", b"[10, null]", b"[2, 10, null]"):
        raw_peer.sendto(junk, rig_addr)
    assert await raw_peer.nothing()
    reply = await _exchange(raw_peer, rig_addr, encode(1, {"exp_ref": "2024-01-01_1_foo"}))
    assert json.loads(reply) == [1, {"exp_ref": "2024-01-01_1_foo", "status": 10}]


async def test_rig_answers_a_duplicated_request_twice(raw_peer, counting_rig):
    rig_addr = _addr(counting_rig)
    request = encode(1, {"exp_ref": "2024-01-01_1_foo"})
    raw_peer.sendto(request, rig_addr)
    raw_peer.sendto(request, rig_addr)
    got = [await raw_peer.next() for _ in range(4)]
    raws = [raw for raw, _ in got]
    assert raws.count(request) == 2 and len(raws) == 4  # two echoes and two replies, all harmless
    for raw in raws:
        if raw != request:
            raw_peer.sendto(raw, rig_addr)
    assert counting_rig.calls == ["2024-01-01_1_foo"] * 2 and counting_rig.status == 10


async def test_handler_failure_is_reported_and_the_rig_survives(raw_peer, counting_rig):
    rig_addr = _addr(counting_rig)
    request = encode(2, "2024-01-01_1_foo", None)
    raw_peer.sendto(request, rig_addr)
    assert await raw_peer.next() == (request, rig_addr)
    report, _ = await raw_peer.next()
    assert json.loads(report) == [0, "RuntimeError: camera not found", 2]
    assert await raw_peer.nothing()  # an error report expects no echo, so nothing is resent
    assert json.loads(await _exchange(raw_peer, rig_addr, encode(32, 20))) == [32, 0]


async def test_unechoed_reply_is_retried_then_the_rig_keeps_listening(raw_peer, counting_rig):
    rig_addr = _addr(counting_rig)
    request = encode(64, 0, None)
    raw_peer.sendto(request, rig_addr)
    assert await raw_peer.next() == (request, rig_addr)
    replies = [await raw_peer.next() for _ in range(SLOW["attempts"])]  # never echoed: resent, then given up
    assert len({raw for raw, _ in replies}) == 1 and await raw_peer.nothing(0.3)
    assert json.loads(await _exchange(raw_peer, rig_addr, encode(32, 20))) == [32, 0]


# -- TCP streams --------------------------------------------------------------------------------

async def test_tcp_rig_splits_several_arrays_in_one_read_and_joins_partial_ones():
    async with EchoRig("tcp://127.0.0.1:0", "cam", **SLOW) as rig:
        host, port = rig.endpoint_uri.removeprefix("tcp://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        info, status = encode(64, 0, None), encode(32, 20)
        writer.write(info + status)  # two messages in one write
        writer.write(b'[1, {"exp_ref": "2024-01-')  # and one in two
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b'01_1_foo"}]')
        received = b""
        while received.count(b"]") < 6:
            received += await asyncio.wait_for(reader.read(4096), 2)
        writer.close()
    assert info in received and status in received and b'[1, {"exp_ref": "2024-01-01_1_foo"}]' in received
    assert b'[64, 0, {"main_sync": false, "exp_ref": null}]' in received and b'[32, 0]' in received
