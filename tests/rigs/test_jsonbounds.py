"""JSON from outside is bounded before and after parsing; what the agent stores is normalised to pass the bounds."""

from __future__ import annotations

import json
import math
import random

import pytest

from rigs.jsonbounds import MAX_DEPTH, MAX_INT, JSONBoundsError, bounded_loads, check, nesting_exceeds, normalise

LIMIT = 1 << 20


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_deep_nesting_is_refused_before_parsing_with_a_clear_reason(text):
    # json.loads alone dies with RecursionError (not a ValueError), which killed the sockets that met it.
    with pytest.raises(RecursionError):
        json.loads(text)
    for form in (text, text.encode()):
        with pytest.raises(JSONBoundsError, match=f"deeper than {MAX_DEPTH}"):
            bounded_loads(form, max_bytes=LIMIT)


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps(["[" * 200, "{{{{", '\\"[[[['])
    assert not nesting_exceeds(text)
    assert bounded_loads(text, max_bytes=LIMIT)[0] == "[" * 200


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[32, NaN]", "NaN is not a number"),
        ('{"x": Infinity}', "Infinity is not a number"),
        ("[-Infinity]", "-Infinity is not a number"),
        ("[1e999]", "out of range"),
        ('["a\\u0000b"]', "NUL"),
        ('{"a\\u0000": 1}', "NUL"),
        ('["\\ud800"]', "lone UTF-16 surrogate"),
        (f"[{2**63 - 1}]", "out of range"),
        (f"[{-(2**53)}]", "out of range"),
        ("[" + "9" * 5000 + "]", "out of range"),
        ("[1, 2", "not valid JSON"),
        (b"[\xff]", "not UTF-8"),
    ],
)
def test_values_no_database_or_encoder_can_take_are_refused(text, reason):
    with pytest.raises(JSONBoundsError, match=reason):
        bounded_loads(text, max_bytes=LIMIT)


def test_what_is_allowed_parses_as_json_does():
    text = json.dumps({"pair": "\ud83d\ude00", "big": MAX_INT, "small": -MAX_INT, "f": 1.5e300, "n": None,
                       "nested": [[[[{"ok": True}]]]]})
    assert bounded_loads(text, max_bytes=LIMIT) == json.loads(text)


def test_size_is_checked_before_anything_else():
    with pytest.raises(JSONBoundsError, match="over the 10 byte limit"):
        bounded_loads("[" + "1," * 10 + "1]", max_bytes=10)


def _nasty(rng: random.Random, depth: int = 0):
    pick = rng.randrange(12)
    if depth > 40 or pick < 7:
        return rng.choice([math.nan, math.inf, -math.inf, 2**63, -(2**70), "a\x00b", "\ud800x", "\udfff", "ok", 1.5,
                           None, True, 7, b"bytes", (1, 2), object()])
    if pick < 9:
        return [_nasty(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {rng.choice(["k", "k\x00", 5, "\ud801"]): _nasty(rng, depth + 1) for _ in range(rng.randrange(3))}


def test_normalised_values_always_pass_the_bounds_and_encode():
    rng = random.Random(14)
    for _ in range(2000):
        value = normalise({"v": _nasty(rng)})
        check(value)
        assert bounded_loads(json.dumps(value, allow_nan=False), max_bytes=LIMIT) == value


def test_normalising_says_what_each_value_was():
    assert normalise([math.nan, math.inf, -math.inf, 2**64, "a\x00b", "\ud800"]) == \
        ["NaN", "Infinity", "-Infinity", str(2**64), "a\ufffdb", "\ufffd"]
    deep = current = []
    for _ in range(100):
        current.append([])
        current = current[0]
    check(normalise(deep))
