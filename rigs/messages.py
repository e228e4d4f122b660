"""The agent <-> dashboard message schema: JSON objects with a `type`, checked on both ends.

Agent -> dashboard: hello, status, event (durable, with a per-rig `seq`), preview, reply.
Dashboard -> agent: welcome (after hello, with the last event seq it holds for the rig), ack (of event seqs),
command, error.
The dashboard imports this module too, so both ends agree on one definition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rigs.jsonbounds import MAX_INT, JSONBoundsError, bounded_loads, check

# A preview PNG of <= 256x256 base64-encoded fits well below this; anything bigger is a bug or an attack.
MAX_MESSAGE_BYTES = 512 * 1024
MAX_EVENT_NAME = 64
MAX_RIG_NAME = 64
MAX_SEQ = MAX_INT  # a seq past this would not survive a browser, nor leave room in SQLite's AUTOINCREMENT
MAX_TIME = 32503680000.0  # epoch seconds of the year 3000: a rig's clock is never past it, datetime overflows later
MAX_ECHO_HOSTS = 1000

COMMAND_ACTIONS = (
    "spool.start",
    "spool.stop",
    "session.start",
    "session.stop",
    "session.interrupt",
    "transfer.run",
    "transfer.verify",
    "preview.request",
)


class MessageError(ValueError):
    """A message that does not follow the schema; the text says why, for the log.

    `seq` is set when the message was an event with a usable seq: the receiver may tell the sender that this
    event is refused for good (the agent then quarantines it instead of sending it forever).
    """

    seq: int | None = None


@dataclass(frozen=True)
class Field:
    name: str
    kind: type | tuple[type, ...]
    required: bool = True


_NUMBER = (int, float)
_SCHEMAS: dict[str, tuple[Field, ...]] = {
    "hello": (
        Field("rig", str),
        Field("kind", str),
        Field("version", str),
        Field("hostname", str, required=False),
        Field("capabilities", list, required=False),
        Field("disk", dict, required=False),
        Field("next_seq", int, required=False),
    ),
    "status": (
        Field("rig", str),
        Field("time", _NUMBER),
        Field("state", str),
        Field("activity", str, required=False),
        Field("disk", dict, required=False),
        Field("spool", (dict, type(None)), required=False),
        Field("transfer", (dict, type(None)), required=False),
        Field("session", (dict, type(None)), required=False),
    ),
    "event": (
        Field("rig", str),
        Field("seq", int),
        Field("time", _NUMBER),
        Field("name", str),
        Field("data", dict, required=False),
    ),
    "preview": (
        Field("rig", str),
        Field("time", _NUMBER),
        Field("png", str),
        Field("width", int),
        Field("height", int),
    ),
    "reply": (
        Field("rig", str),
        Field("id", str),
        Field("ok", bool),
        Field("result", (dict, type(None)), required=False),
        Field("error", (str, type(None)), required=False),
    ),
    "welcome": (Field("rig", str), Field("last_seq", int), Field("echo_hosts", list, required=False)),
    "registry": (Field("echo_hosts", list),),  # the echo hosts of the registered rigs, after the registry changed
    "ack": (Field("seqs", list),),
    "command": (
        Field("id", str),
        Field("action", str),
        Field("params", dict),
        Field("issued_by", (str, type(None)), required=False),
    ),
    "error": (Field("error", str), Field("seq", int, required=False)),
}

AGENT_TYPES = frozenset({"hello", "status", "event", "preview", "reply"})
DASHBOARD_TYPES = frozenset({"welcome", "registry", "ack", "command", "error"})


def validate(message: Any) -> dict:
    """Return the message if it follows the schema, else raise MessageError naming the first problem."""
    if not isinstance(message, dict):
        raise MessageError(f"a message must be a JSON object, not {type(message).__name__}")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in _SCHEMAS:
        raise MessageError(f"unknown message type {kind!r}")
    for field in _SCHEMAS[kind]:
        if field.name not in message:
            if field.required:
                raise MessageError(f"{kind}: missing field {field.name!r}")
            continue
        value = message[field.name]
        # bool is an int in Python; a seq or a size of `true` is still wrong.
        if isinstance(value, bool) and bool not in _as_tuple(field.kind):
            raise MessageError(f"{kind}: field {field.name!r} must be {_kind_name(field.kind)}, not a boolean")
        if not isinstance(value, field.kind):
            raise MessageError(f"{kind}: field {field.name!r} must be {_kind_name(field.kind)}")
    _check_values(kind, message)
    return message


def _check_values(kind: str, message: dict) -> None:
    rig = message.get("rig")
    if rig is not None and not (0 < len(rig) <= MAX_RIG_NAME):
        raise MessageError(f"{kind}: rig name must be 1-{MAX_RIG_NAME} characters")
    if kind == "event":
        if not 1 <= message["seq"] <= MAX_SEQ:
            raise MessageError(f"event: seq must be a positive integer of at most {MAX_SEQ}")
        if not (0 < len(message["name"]) <= MAX_EVENT_NAME):
            raise MessageError(f"event: name must be 1-{MAX_EVENT_NAME} characters")
    if "time" in message and not 0 <= message["time"] <= MAX_TIME:
        raise MessageError(f"{kind}: time must be epoch seconds from 0 to {MAX_TIME:.0f}")
    if kind == "welcome" and not 0 <= message["last_seq"] <= MAX_SEQ:
        raise MessageError(f"welcome: last_seq must be an integer from 0 to {MAX_SEQ}")
    hosts = message.get("echo_hosts")
    if hosts is not None and (len(hosts) > MAX_ECHO_HOSTS or not all(isinstance(h, str) and 0 < len(h) <= 255
                                                                      for h in hosts)):
        raise MessageError(f"{kind}: echo_hosts must be at most {MAX_ECHO_HOSTS} host names of 1-255 characters")
    if kind == "ack" and not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_SEQ
                                 for s in message["seqs"]):
        raise MessageError(f"ack: seqs must be a list of integers from 1 to {MAX_SEQ}")
    if kind == "command" and message["action"] not in COMMAND_ACTIONS:
        raise MessageError(f"command: unknown action {message['action']!r}")


def decode(text: str | bytes, *, allowed: frozenset[str] | None = None) -> dict:
    """Parse and validate one message; `allowed` restricts the types the receiving end accepts."""
    try:
        message = bounded_loads(text, max_bytes=MAX_MESSAGE_BYTES)
    except JSONBoundsError as exc:
        raise MessageError(str(exc)) from None
    try:
        validate(message)
    except MessageError as exc:
        exc.seq = _event_seq(message)
        raise
    if allowed is not None and message["type"] not in allowed:
        raise MessageError(f"message type {message['type']!r} is not accepted here")
    return message


def encode(message: dict) -> str:
    """Validate and serialise one message; a schema error here is a bug on the sending side."""
    validate(message)
    try:
        check(message)  # what the other end's decode would refuse (NaN, NUL, huge integers, deep nesting)
        text = json.dumps(message, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError) as exc:
        raise MessageError(f"{message['type']}: cannot be sent: {exc}") from None
    if len(text) > MAX_MESSAGE_BYTES:
        raise MessageError(f"message of {len(text)} bytes is over the {MAX_MESSAGE_BYTES} byte limit")
    return text


def _event_seq(message: Any) -> int | None:
    """The seq of an event that failed validation, when it has a usable one."""
    if not isinstance(message, dict) or message.get("type") != "event":
        return None
    seq = message.get("seq")
    return seq if type(seq) is int and 1 <= seq <= MAX_SEQ else None


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "a boolean", list: "a list",
             dict: "an object", type(None): "null"}
    return " or ".join(dict.fromkeys(names[k] for k in _as_tuple(kind)))
