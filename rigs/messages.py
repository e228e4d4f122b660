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

# A preview PNG of <= 256x256 base64-encoded fits well below this; anything bigger is a bug or an attack.
MAX_MESSAGE_BYTES = 512 * 1024
MAX_EVENT_NAME = 64
MAX_RIG_NAME = 64

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
    """A message that does not follow the schema; the text says why, for the log."""


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
    "welcome": (Field("rig", str), Field("last_seq", int)),
    "ack": (Field("seqs", list),),
    "command": (
        Field("id", str),
        Field("action", str),
        Field("params", dict),
        Field("issued_by", (str, type(None)), required=False),
    ),
    "error": (Field("error", str),),
}

AGENT_TYPES = frozenset({"hello", "status", "event", "preview", "reply"})
DASHBOARD_TYPES = frozenset({"welcome", "ack", "command", "error"})


def validate(message: Any) -> dict:
    """Return the message if it follows the schema, else raise MessageError naming the first problem."""
    if not isinstance(message, dict):
        raise MessageError(f"a message must be a JSON object, not {type(message).__name__}")
    kind = message.get("type")
    if kind not in _SCHEMAS:
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
        if message["seq"] < 1:
            raise MessageError("event: seq must be a positive integer")
        if not (0 < len(message["name"]) <= MAX_EVENT_NAME):
            raise MessageError(f"event: name must be 1-{MAX_EVENT_NAME} characters")
    if kind == "ack" and not all(isinstance(s, int) and not isinstance(s, bool) for s in message["seqs"]):
        raise MessageError("ack: seqs must be a list of integers")
    if kind == "command" and message["action"] not in COMMAND_ACTIONS:
        raise MessageError(f"command: unknown action {message['action']!r}")


def decode(text: str | bytes, *, allowed: frozenset[str] | None = None) -> dict:
    """Parse and validate one message; `allowed` restricts the types the receiving end accepts."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise MessageError(f"message of {len(text)} bytes is over the {MAX_MESSAGE_BYTES} byte limit")
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageError(f"not valid JSON: {exc}") from None
    validate(message)
    if allowed is not None and message["type"] not in allowed:
        raise MessageError(f"message type {message['type']!r} is not accepted here")
    return message


def encode(message: dict) -> str:
    """Validate and serialise one message; a schema error here is a bug on the sending side."""
    text = json.dumps(validate(message), separators=(",", ":"), allow_nan=False)
    if len(text) > MAX_MESSAGE_BYTES:
        raise MessageError(f"message of {len(text)} bytes is over the {MAX_MESSAGE_BYTES} byte limit")
    return text


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "a boolean", list: "a list",
             dict: "an object", type(None): "null"}
    return " or ".join(dict.fromkeys(names[k] for k in _as_tuple(kind)))
