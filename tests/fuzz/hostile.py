"""Seeded generators of hostile and broken input for the fuzz tests: what an attacker or bad luck would send.

Every generator takes a `random.Random`, so a failing run is repeated by its seed.
"""

from __future__ import annotations

import json
import random
from typing import Any

NASTY_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", str(2**63 - 1), str(2**64), str(-(2**63) - 1),
                 "9" * 400, "1" * 5000, "0.1e-99999", "-0", "1E+308"]
NASTY_STRINGS = ["\\u0000", "a\\u0000b", "\\ud800", "\\udfff\\ud800", "../../etc", "..\\\\..\\\\windows", "=cmd|' /C calc'!A0",
                 "<script>alert(1)</script>", "\\r\\nSet-Cookie: x=y", "add", "CON", "%(year)d", "\\u202e", "日本語",
                 "x" * 300]


def _string(rng: random.Random) -> str:
    """A JSON string literal (already quoted, escapes as JSON text)."""
    if rng.random() < 0.6:
        return '"' + rng.choice(NASTY_STRINGS) + '"'
    return json.dumps("".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(12))))


def _value(rng: random.Random, depth: int = 0) -> str:
    """A JSON value as text, possibly with tokens no JSON encoder writes (NaN, huge numbers...)."""
    pick = rng.randrange(10)
    if depth > 4 or pick < 3:
        return rng.choice(NASTY_NUMBERS + ["true", "null", "0", "-1", "1.5"])
    if pick < 6:
        return _string(rng)
    if pick < 8:
        return "[" + ", ".join(_value(rng, depth + 1) for _ in range(rng.randrange(4))) + "]"
    return "{" + ", ".join(f"{_string(rng)}: {_value(rng, depth + 1)}" for _ in range(rng.randrange(4))) + "}"


def deep(rng: random.Random, limit: int = 60_000) -> str:
    """Nesting of up to `limit` bytes (a transport's own frame limit is another test's business)."""
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    n = min(rng.choice([33, 100, 1000, 10_000, 1_000_000]), (limit - 1) // (len(opener) + len(closer)))
    return opener * n + "1" + closer * n


def garbage(rng: random.Random, size: int = 200) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, size)))


def mutated(template: dict[str, Any], rng: random.Random) -> str:
    """The JSON text of `template` with one field's value replaced by something hostile (or removed/renamed)."""
    fields = {json.dumps(key): json.dumps(value) for key, value in template.items()}  # JSON text both sides
    key = rng.choice(list(fields))
    roll = rng.random()
    if roll < 0.1:
        del fields[key]
    elif roll < 0.2:
        fields[key[:-1] + '\\u0000"'] = fields.pop(key)  # the same key with a NUL at its end
    else:
        fields[key] = _value(rng)
    return "{" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}"


def hostile_text(templates: list[dict[str, Any]], rng: random.Random, *, max_bytes: int) -> str | bytes:
    """One hostile message for a JSON socket: mostly a mutated valid message, else deep, broken or garbage."""
    roll = rng.random()
    if roll < 0.55:
        return mutated(rng.choice(templates), rng)
    if roll < 0.65:
        return deep(rng, max_bytes)
    if roll < 0.75:
        text = json.dumps(rng.choice(templates))
        return text[: rng.randrange(len(text))]  # cut short
    if roll < 0.85:
        return _value(rng)
    if roll < 0.93:
        return garbage(rng).decode("latin1")
    if roll < 0.97:
        return rng.choice(["", " ", "null", "[]", "{}", '"x"', "[1, 2]"])
    # Around the receiver's own limit, never past 1 MiB (daphne closes a socket at its frame limit, by design).
    return '{"type": "status", "pad": "' + "x" * rng.randrange(max_bytes // 2, min(max_bytes + 4096, 1 << 20)) + '"}'


ECHO_CODES = [1, 2, 4, 8, 16, 32, 64, 128, 0, 3, 10, 20, 99, -1, 2**31, 2**64]


def echo_message(rng: random.Random, exp_refs: list[str]) -> bytes:
    """One hostile echo datagram: a lifecycle message with hostile payload, or deep, broken, legacy or garbage."""
    roll = rng.random()
    if roll < 0.5:
        code = rng.choice(ECHO_CODES)
        payload = [rng.choice([_value(rng), json.dumps(rng.choice(exp_refs)), '{"exp_ref": ' + _string(rng) + "}",
                               '{"subject_name": ' + _string(rng) + "}"]) for _ in range(rng.randrange(3))]
        return ("[" + ", ".join([str(code), *payload]) + "]").encode("utf-8", "surrogatepass")
    if roll < 0.6:
        return deep(rng, 30_000).encode()
    if roll < 0.7:
        return b"[32, " + rng.choice(NASTY_NUMBERS).encode() + b"]"
    if roll < 0.8:
        text = json.dumps([rng.choice([1, 2, 32, 64]), rng.choice(exp_refs), {"x": 1}]).encode()
        return text[: rng.randrange(len(text))]
    if roll < 0.9:
        return garbage(rng, 600)
    return rng.choice([b"[]", b"{}", b"[0]", b'[0, "Boom: x", 1]', b"[2, 20]", b"[10, {}]", b"\xff\xfe[1]"])
