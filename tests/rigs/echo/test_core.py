"""The sans-I/O echo rules: matching, reply routing, late echoes, error reports, legacy peers."""

from __future__ import annotations

import logging

from rigs.echo.core import Dropped, Echo, EchoCore, ErrorReport, Incoming
from rigs.echo.wire import encode

PEER = ("10.0.0.5", 11001)
OTHER = ("10.0.0.6", 11001)


def test_new_message_is_echoed_byte_for_byte():
    raw = b'[1,{"exp_ref":"2024-01-01_1_foo"}]'  # not how we would encode it: must come back unchanged
    event = EchoCore().receive(raw, PEER, now=0.0)
    assert isinstance(event, Incoming) and event.echo is raw and event.message.code == 1 and event.reply_to is None


def test_error_report_is_never_echoed_and_fails_the_waiting_request():
    core = EchoCore()
    core.expect_reply(PEER, 1, "waiter")
    event = core.receive(b'[0, "ValueError: no session", 1]', PEER, now=0.0)
    assert isinstance(event, ErrorReport)
    assert (event.text, event.code, event.reply_to) == ("ValueError: no session", 1, "waiter")


def test_echo_confirms_the_waiting_send_only_from_that_peer():
    core = EchoCore()
    raw = encode(2, "2024-01-01_1_foo", None)
    core.sent(PEER, raw, now=0.0, token="w")
    assert isinstance(core.receive(raw, OTHER, now=0.1), Incoming)  # same bytes, other peer: a new message
    event = core.receive(raw, PEER, now=0.1)
    assert isinstance(event, Echo) and event.token == "w"
    assert not core.awaiting()


def test_unexpected_message_during_a_wait_is_a_new_message():
    core = EchoCore()
    core.sent(PEER, encode(1, None), now=0.0, token="w")
    event = core.receive(encode(64, 20, {"main_sync": False}), PEER, now=0.1)
    assert isinstance(event, Incoming) and event.echo is not None
    assert core.awaiting(PEER)  # still waiting for the real echo


def test_replies_are_routed_by_code_in_order():
    core = EchoCore()
    core.expect_reply(PEER, 4, "first")
    core.expect_reply(PEER, 4, "second")
    core.expect_reply(PEER, 8, "cleanup")
    assert core.receive(encode(8, {}), PEER, 0).reply_to == "cleanup"
    assert core.receive(encode(4, {}), PEER, 0).reply_to == "first"
    assert core.receive(encode(4, {}), OTHER, 0).reply_to is None
    assert core.receive(encode(4, {}), PEER, 0).reply_to == "second"


def test_late_echo_after_a_retry_is_swallowed_not_taken_as_new():
    core = EchoCore(linger=30)
    raw = encode(32, 20)
    core.sent(PEER, raw, 0.0, token="w")
    core.abandon(PEER, raw, "w")  # first attempt timed out
    core.sent(PEER, raw, 1.0, token="w")  # retry
    assert core.receive(raw, PEER, 1.1).token == "w"
    late = core.receive(raw, PEER, 1.2)  # the first attempt's echo, delayed
    assert isinstance(late, Echo) and late.token is None
    # the rig's reply happens to be the same bytes: now that no echo is owed, it is a new message
    assert isinstance(core.receive(raw, PEER, 1.3), Incoming)


def test_forgotten_sends_expire_after_linger():
    core = EchoCore(linger=5)
    raw = encode(1, None)
    core.sent(PEER, raw, 0.0, token="w")
    core.abandon(PEER, raw, "w")
    assert isinstance(core.receive(raw, PEER, 6.0), Incoming)


def test_malformed_input_is_dropped_without_echo():
    core = EchoCore()
    for raw in (b"\x00\x01", b'[1, "trunc', b'{"a": 1}', b"[7, null]", b'["x"]'):
        event = core.receive(raw, PEER, 0.0)
        assert isinstance(event, Dropped) and not event.legacy


def test_legacy_numbering_is_logged_once_per_peer(caplog):
    core = EchoCore()
    with caplog.at_level(logging.ERROR, logger="rigs.echo.core"):
        first = core.receive(b"[10, null]", ("10.0.0.7", 10001), 0.0)
        core.receive(b"[20, null]", ("10.0.0.7", 10001), 0.0)
    assert isinstance(first, Dropped) and first.legacy
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "iblutil < 1.11" in lines[0] and "EXPINIT" in lines[0] and "10001" in lines[0]
