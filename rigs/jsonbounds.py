"""Bounds on JSON that crosses a trust boundary: size, nesting depth, finite numbers, integers in range, no NUL.

Everything a rig or a browser sends is parsed here before any other code sees it, and everything that enters
the agent's durable outbox is normalised here first, so no value can reach a database (PostgreSQL refuses NUL and
lone surrogates), a JSON encoder (`allow_nan=False`) or a browser (integers past 2**53 lose digits) that it
cannot pass.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_DEPTH = 32  # nesting levels of objects and arrays; json.loads itself dies with RecursionError near 1000
MAX_INT = 2**53 - 1  # the largest integer a browser's JavaScript holds exactly; PostgreSQL bigint holds it too
_SURROGATE = re.compile("[\ud800-\udfff]")  # a pair from JSON is one code point in Python: any left is lone
_OPENERS_STR = re.compile(r'[\[\]{}"\\]')
_OPENERS_BYTES = re.compile(rb'[\[\]{}"\\]')
# What orjson lets through that a bound refuses: a NUL (only as the escape; raw control characters are refused) and
# integers past 2**53-1 (16 digits or more). Text with neither needs no walk of the parsed value. Found with bytes
# operations in C (digits to "0", the rest to " "): a regular expression for the digit run costs 5x the parse.
_NUL_ESCAPE = b"\\u0000"
_DIGITS_ONLY = bytes(ord("0") if chr(i).isdigit() and i < 128 else ord(" ") for i in range(256))
_LONG_NUMBER = b"0" * 16


class JSONBoundsError(ValueError):
    """JSON that is not allowed across the boundary; the text says why, in words for the log and the sender."""


def nesting_exceeds(text: str | bytes, max_depth: int = MAX_DEPTH) -> bool:
    """True when `text` nests arrays and objects deeper than `max_depth` (checked before parsing: json.loads
    would recurse and die with RecursionError on a few kilobytes of brackets)."""
    if isinstance(text, str):
        openers, pattern, quote, backslash, opens = text.count("[") + text.count("{"), _OPENERS_STR, '"', "\\", "[{"
    else:
        openers = text.count(b"[") + text.count(b"{")
        pattern, quote, backslash, opens = _OPENERS_BYTES, ord('"'), ord("\\"), b"[{"
    if openers <= max_depth:  # the common case, decided in C
        return False
    depth, in_string, escaped = 0, False, -1
    for match in pattern.finditer(text):
        i = match.start()
        char = text[i]
        if in_string:
            if i == escaped:
                continue
            if char == backslash:
                escaped = i + 1
            elif char == quote:
                in_string = False
        elif char == quote:
            in_string = True
        elif char in opens:
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def bounded_loads(text: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text that came from outside; raise JSONBoundsError for anything over a bound.

    Bounds: `max_bytes` of text, `max_depth` levels, no NaN/Infinity, integers within +-(2**53-1), strings and
    keys without NUL or lone surrogates.

    orjson parses (3x the standard library's speed on a status, which every rig sends a few times a second) and
    itself refuses NaN, Infinity, numbers that overflow a double, lone surrogates, invalid UTF-8 and raw control
    characters; nesting is checked on the text first, and the walk of the value (`check`) runs only when the text
    could hold a NUL or a long integer.
    """
    if len(text) > max_bytes:
        raise JSONBoundsError(f"message of {len(text)} bytes is over the {max_bytes} byte limit")
    if nesting_exceeds(text, max_depth):
        raise JSONBoundsError(f"message nests deeper than {max_depth} levels")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise JSONBoundsError(_parse_error(exc, text)) from None
    if _may_break_bounds(text.encode() if isinstance(text, str) else bytes(text)):
        check(value, max_depth=max_depth)
    return value


def _may_break_bounds(data: bytes) -> bool:
    return _NUL_ESCAPE in data or _LONG_NUMBER in data.translate(_DIGITS_ONLY)


def _parse_error(exc: orjson.JSONDecodeError, text: str | bytes) -> str:
    """orjson's reason, with the words and the place a sender needs to find what it sent wrong."""
    reason = str(exc)
    if "infinity when parsed" in reason:
        return f"a number is out of range ({reason})"
    if "not valid UTF-8" in reason or "byte order mark" in reason:  # also what orjson says of a lone surrogate
        return f"not UTF-8: {reason}"
    if "surrogate" in reason:
        return f"a string holds a lone UTF-16 surrogate, which is not text ({reason})"
    start = max(exc.pos - 1, 0)  # orjson points past the sign of -Infinity
    near = text[start:exc.pos + 24]
    near = near.decode("utf-8", "replace") if isinstance(near, bytes) else near
    for constant in ("-Infinity", "NaN", "Infinity"):
        if constant in near[:len(constant) + 1]:
            return f"{constant} is not a number JSON allows (at char {exc.pos})"
    return f"not valid JSON: {reason}, near {near!r}"


def check(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise JSONBoundsError if `value` (parsed JSON or a dict about to be sent) breaks a bound."""
    _check(value, max_depth)


def _check(value: Any, depth: int) -> None:
    # isinstance, not type(): what the agent sends may hold IntEnum members, which json encodes as numbers.
    if isinstance(value, str):
        _check_text(value)
    elif value is None or isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -MAX_INT <= value <= MAX_INT:
            raise JSONBoundsError(f"integer {str(value)[:30]} is out of range (at most 2**53-1 either way)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise JSONBoundsError(f"{value} is not a number JSON allows")
    elif isinstance(value, dict):
        if depth <= 0:
            raise JSONBoundsError("value nests too deep")
        for key, item in value.items():
            if not isinstance(key, str):
                raise JSONBoundsError(f"object key {key!r} is not a string")
            _check_text(key)
            _check(item, depth - 1)
    elif isinstance(value, (list, tuple)):
        if depth <= 0:
            raise JSONBoundsError("value nests too deep")
        for item in value:
            _check(item, depth - 1)
    else:
        raise JSONBoundsError(f"a {type(value).__name__} is not a JSON value")


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise JSONBoundsError("a string holds a NUL character (\\u0000), which databases refuse")
    if not text.isascii() and _SURROGATE.search(text):
        raise JSONBoundsError("a string holds a lone UTF-16 surrogate, which is not text")


def normalise(value: Any, *, max_depth: int = MAX_DEPTH - 8, max_string: int = 64 * 1024) -> Any:
    """A copy of `value` that passes `check`: what cannot be sent is turned into text that says what it was.

    NaN and infinities become "NaN", "Infinity", "-Infinity"; integers out of range become their digits as a
    string; NUL and lone surrogates become U+FFFD; strings are cut to `max_string` characters; anything nested
    deeper than `max_depth` becomes a short note; tuples become lists, other objects their str().
    """
    return _normalise(value, max_depth, max_string)


def _normalise(value: Any, depth: int, max_string: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        value = int(value)  # an IntEnum member is an int: keep the number, not its repr
        return value if -MAX_INT <= value <= MAX_INT else str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return _text(value, max_string)
    if isinstance(value, dict):
        if depth <= 0:
            return "(nested too deep: cut)"
        return {_text(str(k), 256): _normalise(v, depth - 1, max_string) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if depth <= 0:
            return "(nested too deep: cut)"
        return [_normalise(v, depth - 1, max_string) for v in value]
    return _text(str(value), max_string)


def _text(text: str, max_string: int) -> str:
    if len(text) > max_string:
        text = text[:max_string] + "…"
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = _SURROGATE.sub("\ufffd", text)
    return text


def compact(value: Any) -> str:
    """The compact JSON text of a value that passed `check` (what the agent and the dashboard send)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
