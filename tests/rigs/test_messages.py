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
