"""The agent <-> dashboard message schema: JSON objects with a `type`, checked on both ends.

Agent -> dashboard: hello, status, event (durable, with a per-rig `seq`), preview, reply.
Dashboard -> agent: welcome (after hello, with the last event seq it holds for the rig), ack (of event seqs),
command, error.
A status carries one typed part per piece of the rig (spool, transfer, session, task, disk), each defined once
here as a dataclass: the agent builds them, both ends validate them, and the rig's overall state comes from them
by one rule (`rig_state`). The dashboard imports this module too, so both ends agree on one definition.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
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


# -- the rig's overall state --------------------------------------------------------------------------------------
# What a rig is doing, as every page shows it; "offline" is the dashboard's word for a rig it does not hear.
OFFLINE, IDLE, SESSION, SPOOLING, COPYING = "offline", "idle", "session", "spooling", "copying"
RIG_STATES = (OFFLINE, IDLE, SESSION, SPOOLING, COPYING)
# Which part's activity names the rig's state, most telling first: a camera spooling inside a session is "session".
_STATE_OF_PART = (("session", SESSION), ("task", SESSION), ("spool", SPOOLING), ("transfer", COPYING))


def rig_state(parts: Mapping[str, Any]) -> str:
    """The rig's state from its typed part statuses (dataclasses or their dicts); idle when no part is active."""
    for key, state in _STATE_OF_PART:
        part = parts.get(key)
        active = part.get("active") if isinstance(part, Mapping) else getattr(part, "active", False)
        if active:
            return state
    return IDLE


# -- the typed parts of a status ------------------------------------------------------------------------------------
SPOOL_ACTIVE_STATES = frozenset({"starting", "running", "stopping"})
SESSION_ACTIVE_STATES = frozenset({"initialized", "running"})


@dataclass
class SpoolStatus:
    """A camera rig's spooler (rigs.spool.SpoolController.status): the series being written, or the last one."""

    state: str = "idle"  # idle | starting | running | stopping | finished | failed
    file: str | None = None
    compression: str | None = None
    frames: int = 0  # written to the file
    frames_captured: int = 0
    frames_flushed: int = 0  # safe against kill -9
    dropped: int = 0
    max_frames: int | None = None
    fps: float = 0.0  # to disk
    fps_in: float = 0.0  # from the camera
    mb_s_in: float = 0.0
    mb_s_disk: float = 0.0
    ratio: float | None = None
    queue_fill: float = 0.0  # 0..1 of the camera-side buffer; 1 means frames are being dropped
    queue_bytes: int = 0
    disk_free: int | None = None
    seconds_to_full: float | None = None
    elapsed_s: float = 0.0
    reason: str | None = None  # why the last series ended
    error: str | None = None
    active: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.active = self.state in SPOOL_ACTIVE_STATES


@dataclass
class TransferOutcome:
    """One finished copy, as the card lists the latest few (a failure must not hide the success before it)."""

    exp_ref: str
    outcome: str  # complete | finalized | failed
    error: str | None = None
    bytes: int = 0
    files: int = 0
    ended: float = 0.0  # epoch seconds


@dataclass
class TransferStatus:
    """A rig's copier: the copy under way (bytes, files, rate), how many wait, and the latest outcomes."""

    active: bool = False
    exp_ref: str | None = None
    bytes_done: int = 0
    bytes_total: int = 0
    files_done: int = 0
    files_total: int = 0
    rate: float = 0.0  # bytes per second
    eta: float | None = None  # seconds
    current: str = ""  # the file being copied
    queued: int = 0  # sessions waiting after this one
    recent: list[dict] = field(default_factory=list)  # TransferOutcome dicts, newest first


@dataclass
class SessionStatus:
    """The rig's part in a multi-rig session: as a listening rig, and as the main rig driving the others."""

    state: str = "idle"  # idle | initialized | running | stopped | interrupted
    exp_ref: str | None = None
    main: bool = False  # this rig drives a session right now
    main_exp_ref: str | None = None
    echo: str = ""  # where this rig listens for the echo protocol
    main_sync: bool = False
    # Echo datagrams refused from peers not on the allow-list: {refused, last_peer, last_at, peers}; None: none.
    echo_refused: dict | None = None
    active: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.active = self.state in SESSION_ACTIVE_STATES or self.main


@dataclass
class TaskStatus:
    """A behaviour rig's task: the protocol it runs inside a session and how far it got."""

    state: str = "idle"  # idle | running | stopped
    protocol: str = ""
    collection: str = ""
    trials: int = 0
    elapsed_s: float = 0.0
    active: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.active = self.state == "running"


@dataclass
class DiskStatus:
    """The rig's data disk (where its sessions live)."""

    path: str
    total: int
    free: int


STATUS_PARTS: dict[str, type] = {
    "spool": SpoolStatus, "transfer": TransferStatus, "session": SessionStatus, "task": TaskStatus,
    "disk": DiskStatus,
}


def status_part(value: Any) -> dict[str, Any] | None:
    """A typed part as it goes on the wire (None stays None)."""
    return None if value is None else dataclasses.asdict(value)


@dataclass(frozen=True)
class Field:
    name: str
    kind: type | tuple[type, ...]
    required: bool = True

    @functools.cached_property
    def exact(self) -> frozenset[type]:
        """The types a parsed value of this field has when it is right: a dict lookup instead of isinstance calls
        on the hot path (a bool is not an int here, as JSON has it)."""
        return frozenset(_as_tuple(self.kind))


_ABSENT = object()


_NUMBER = (int, float)
_SCHEMAS: dict[str, tuple[Field, ...]] = {
    "hello": (
        Field("rig", str),
        Field("kind", str),
        Field("tag", str, required=False),
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
        Field("quarantined", int, required=False),  # events the dashboard refused for good, kept on the rig
        *(Field(key, (dict, type(None)), required=False) for key in STATUS_PARTS),
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
    for spec in _SCHEMAS[kind]:
        value = message.get(spec.name, _ABSENT)
        if type(value) in spec.exact:
            continue
        if value is _ABSENT:
            if spec.required:
                raise MessageError(f"{kind}: missing field {spec.name!r}")
            continue
        # Not one of the exact types: a subclass an agent may send (an IntEnum is an int) or a wrong value.
        # bool is an int in Python; a seq or a size of `true` is still wrong.
        if isinstance(value, bool) and bool not in _as_tuple(spec.kind):
            raise MessageError(f"{kind}: field {spec.name!r} must be {_kind_name(spec.kind)}, not a boolean")
        if not isinstance(value, spec.kind):
            raise MessageError(f"{kind}: field {spec.name!r} must be {_kind_name(spec.kind)}")
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
    if kind == "status":
        if message["state"] not in RIG_STATES:
            raise MessageError(f"status: state must be one of {', '.join(RIG_STATES)}")
        for key, cls in STATUS_PARTS.items():
            if message.get(key) is not None:
                _check_part(f"status.{key}", cls, message[key])


@functools.cache
def _part_fields(cls: type) -> dict[str, tuple[type, ...]]:
    """Each field of a status dataclass with the JSON types it may hold (an int where a float is asked is fine)."""
    hints = typing.get_type_hints(cls)
    kinds = {}
    for item in dataclasses.fields(cls):
        hint = hints[item.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        allowed = tuple(typing.get_origin(a) or a for a in args)
        kinds[item.name] = allowed + ((int,) if float in allowed else ())
    return kinds


@functools.cache
def _part_exact(cls: type) -> dict[str, frozenset[type]]:
    return {name: frozenset(kinds) for name, kinds in _part_fields(cls).items()}


def _check_part(where: str, cls: type, value: dict) -> None:
    exact = _part_exact(cls)
    for name, item in value.items():
        if type(item) not in exact.get(name, ()):
            _check_part_field(where, cls, name, item)
    if not value.keys() >= _required_fields(cls):
        missing = [f.name for f in dataclasses.fields(cls) if f.name in _required_fields(cls) and f.name not in value]
        raise MessageError(f"{where}: missing field {missing[0]!r}")


def _check_part_field(where: str, cls: type, name: str, item: Any) -> None:
    """The slow path: an unknown field, a wrong type, or a subclass of a right one (an IntEnum)."""
    kinds = _part_fields(cls).get(name)
    if kinds is None:
        raise MessageError(f"{where}: unknown field {name!r}")
    if isinstance(item, bool) and bool not in kinds or not isinstance(item, kinds):
        raise MessageError(f"{where}.{name} must be {_kind_name(kinds)}")


@functools.cache
def _required_fields(cls: type) -> frozenset[str]:
    """The fields of a status dataclass without a default (looked up once: this runs for every status)."""
    return frozenset(f.name for f in dataclasses.fields(cls)
                     if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)


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
    if float in _as_tuple(kind):
        kind = tuple(k for k in _as_tuple(kind) if k is not int)
    return " or ".join(dict.fromkeys(names[k] for k in _as_tuple(kind)))
