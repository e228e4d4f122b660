"""The agent <-> dashboard schema refuses what is malformed or oversized, with a reason for the log."""

import json

import pytest

from rigs.messages import AGENT_TYPES, MAX_MESSAGE_BYTES, MessageError, decode, encode


def event(**overrides):
    message = {"type": "event", "rig": "cam-left", "seq": 1, "time": 1.5, "name": "spool.started", "data": {}}
    message.update(overrides)
    return message


def test_a_valid_event_round_trips():
    assert decode(encode(event())) == event()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": "nonsense"}', "unknown message type"),
        (json.dumps({k: v for k, v in event().items() if k != "seq"}), "missing field 'seq'"),
        (json.dumps(event(seq="3")), "'seq' must be an integer"),
        (json.dumps(event(seq=True)), "not a boolean"),
        (json.dumps(event(seq=0)), "positive"),
        (json.dumps(event(rig="")), "rig name"),
        (json.dumps({"type": "ack", "seqs": [1, "2"]}), "list of integers"),
        (json.dumps({"type": "command", "id": "x", "action": "format.disk", "params": {}}), "unknown action"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(text, reason):
    with pytest.raises(MessageError, match=reason):
        decode(text)


def test_oversized_messages_are_refused_before_parsing():
    with pytest.raises(MessageError, match="over the"):
        decode("x" * (MAX_MESSAGE_BYTES + 1))


def test_a_dashboard_message_is_refused_where_only_agent_messages_belong():
    with pytest.raises(MessageError, match="not accepted here"):
        decode(json.dumps({"type": "ack", "seqs": [1]}), allowed=AGENT_TYPES)


def test_encode_refuses_to_send_an_invalid_message():
    with pytest.raises(MessageError):
        encode({"type": "status", "rig": "a"})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"type": "event", "rig": "r", "seq": 1, "time": 1, "name": "x", "data": {"v": NaN}}', "NaN"),
        (json.dumps(event(seq=2**63 - 1)), "out of range"),
        (json.dumps(event(seq=2**53)), "out of range"),
        (json.dumps(event(time=1e300)), "time must be epoch seconds"),
        (json.dumps(event(time=-5)), "time must be epoch seconds"),
        (json.dumps(event(data={"a": "\u0000"})), "NUL"),
        ('{"type": "status", "data": ' + "[" * 5000 + "]" * 5000 + "}", "deeper than"),
        (json.dumps({"type": "welcome", "rig": "r", "last_seq": 2**63 - 1}), "out of range"),
        (json.dumps({"type": "welcome", "rig": "r", "last_seq": -1}), "last_seq"),
        (json.dumps({"type": "ack", "seqs": [0]}), "seqs must be a list of integers"),
        (json.dumps({"type": "registry", "echo_hosts": ["x" * 300]}), "echo_hosts"),
    ],
)
def test_out_of_range_numbers_and_hostile_json_are_refused(text, reason):
    with pytest.raises(MessageError, match=reason):
        decode(text)


def test_a_refused_event_names_its_seq_so_the_agent_can_quarantine_it():
    with pytest.raises(MessageError) as refused:
        decode(json.dumps(event(seq=7, name="x" * 100)))
    assert refused.value.seq == 7
    with pytest.raises(MessageError) as out_of_range:
        decode(json.dumps(event(seq=2**63 - 1, name="x" * 100)))
    assert out_of_range.value.seq is None  # no usable seq: nothing to quarantine by


def test_what_cannot_be_sent_is_a_message_error_not_a_crash():
    for bad in (event(data={"v": float("nan")}), event(data={"v": 2**64}), event(data={"v": "\x00"})):
        with pytest.raises(MessageError, match="cannot be sent"):
            encode(bad)


def test_welcome_and_registry_carry_the_echo_hosts():
    welcome = {"type": "welcome", "rig": "r", "last_seq": 3, "echo_hosts": ["10.0.0.5", "rig2.lab"]}
    assert decode(encode(welcome)) == welcome
    registry = {"type": "registry", "echo_hosts": []}
    assert decode(encode(registry), allowed=frozenset({"registry"})) == registry
