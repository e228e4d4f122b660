"""One echo message on the wire: a UTF-8 JSON array `[code, *payload]`, encoded like `json.dumps` defaults."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rigs.echo.codes import ERROR, LEGACY_CODES, LEGACY_PORT, UDP_MAX_PAYLOAD, VALID_CODES, code_name
from rigs.jsonbounds import MAX_DEPTH, nesting_exceeds

# json.dumps with its defaults: ", " and ": " separators, ASCII only; iblutil encodes the same way,
# so a message we build is byte for byte what iblutil would send. The C encoder is built once
# (json.dumps builds one per call) and str input skips json.loads' encoding detection.
_encoder = json.JSONEncoder()
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # CPython's C speed-up (private, may be absent)
if _c_make_encoder is not None:
    _c_encode = _c_make_encoder(
        None, _encoder.default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )

    def _dumps(obj: list) -> str:
        return "".join(_c_encode(obj, 0))
else:  # pragma: no cover - CPython always has _json
    _dumps = _encoder.encode
_decode_str = json.JSONDecoder().decode


def _decode(raw: bytes) -> Any:
    return _decode_str(raw.decode("utf-8"))


class MalformedMessage(ValueError):
    """Bytes that are not an echo message (garbage, truncated, not an array, bad code)."""


class LegacyMessage(MalformedMessage):
    """A message numbered like iblutil < 1.11 (not supported)."""


class MessageTooLarge(ValueError):
    """An encoded message that does not fit in one UDP datagram."""


@dataclass(slots=True)
class Message:
    """A decoded message; `raw` keeps the exact bytes so echoes are never re-encoded."""

    code: int
    payload: list[Any]
    raw: bytes

    @property
    def name(self) -> str:
        """The code's name, e.g. `EXPINIT`."""
        return code_name(self.code)

    @property
    def is_error(self) -> bool:
        """True for an error report `[0, "Type: message", code]`."""
        return self.code == ERROR


def plain(value: Any) -> Any:
    # Enum members are ints already; int() keeps json from ever seeing a subclass repr.
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else value


def encode(code: int, *payload: Any) -> bytes:
    """Encode `[code, *payload]` exactly as iblutil's `json.dumps(...).encode()` does."""
    return _dumps([int(code), *map(plain, payload)]).encode()


def encode_error(exc: BaseException, code: int) -> bytes:
    """Encode the error report for a failed handler of `code`: `[0, "Type: message", code]`."""
    return encode(ERROR, f"{type(exc).__name__}: {exc}", int(code))


def check_udp_size(raw: bytes) -> bytes:
    """Return `raw`, or raise `MessageTooLarge` if it cannot go in one UDP datagram."""
    if len(raw) > UDP_MAX_PAYLOAD:
        raise MessageTooLarge(f"message of {len(raw)} bytes exceeds the UDP limit of {UDP_MAX_PAYLOAD} bytes")
    return raw


def _check_code(code: Any, payload: list[Any]) -> int:
    if not isinstance(code, int) or isinstance(code, bool):
        raise MalformedMessage(f"message code {code!r} is not an integer")
    if code == 2 and payload and isinstance(payload[0], int) and not isinstance(payload[0], bool):
        # a new EXPSTART carries an exp_ref string where an old EXPINFO carried a status number
        raise LegacyMessage("code 2 with a status number is EXPINFO in iblutil < 1.11 numbering")
    if code == ERROR or code in VALID_CODES:
        return code
    if code in LEGACY_CODES:
        raise LegacyMessage(f"code {code} is {LEGACY_CODES[code]} in iblutil < 1.11 numbering")
    raise MalformedMessage(f"unknown message code {code}")


def decode(raw: bytes) -> Message:
    """Decode one message; raise `MalformedMessage` (or `LegacyMessage`) for anything else."""
    # Checked before parsing: json.loads recurses, and a few kilobytes of brackets end in RecursionError.
    # NaN and Infinity are still read as Python's json reads them (iblutil does): the wire stays iblutil's,
    # and what is recorded from a message is normalised where it is stored (the agent's outbox).
    if nesting_exceeds(raw, MAX_DEPTH):
        raise MalformedMessage(f"nested deeper than {MAX_DEPTH} levels")
    try:
        obj = _decode(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedMessage(f"not JSON ({exc})") from None
    if not isinstance(obj, list) or not obj:
        raise MalformedMessage(f"expected a non-empty JSON array, got {type(obj).__name__}")
    code, *payload = obj
    code = _check_code(code, payload)
    return Message(code, payload, raw)


def legacy_hint(addr: tuple[str, int]) -> str:
    """An extra word for logs when the peer also uses the old default port."""
    return f" (and port {LEGACY_PORT}, the old default)" if addr[1] == LEGACY_PORT else ""
