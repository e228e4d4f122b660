"""Splitting TCP reads into JSON arrays, without sockets."""

from __future__ import annotations

from rigs.echo.framing import StreamSplitter, array_end


def test_one_read_with_several_arrays():
    data = b'[64, 0, {"a": [1, [2]]}][1, null]  [32, 20]'
    assert StreamSplitter().feed(data) == [b'[64, 0, {"a": [1, [2]]}]', b"[1, null]", b"[32, 20]"]


def test_partial_reads_are_joined():
    splitter = StreamSplitter()
    assert splitter.feed(b'[2, "2024-01-01_1_fo') == []
    assert splitter.pending > 0
    assert splitter.feed(b'o", null][4') == [b'[2, "2024-01-01_1_foo", null]']
    assert splitter.feed(b", null]") == [b"[4, null]"]
    assert splitter.pending == 0


def test_brackets_and_escaped_quotes_inside_strings():
    message = b'[1, {"note": "a ] b [ \\" ]\\\\"}]'
    assert array_end(message) == len(message)
    assert StreamSplitter().feed(message + b"[8, null]") == [message, b"[8, null]"]


def test_utf8_split_inside_a_character():
    message = '[1, "caf\u00e9 \u4e2d"]'.encode()
    splitter = StreamSplitter()
    assert splitter.feed(message[:8]) == []
    assert splitter.feed(message[8:]) == [message]


def test_garbage_before_an_array_is_dropped(caplog):
    assert StreamSplitter().feed(b'hello {"x": 1}[16, null]') == [b"[16, null]"]
    assert "not a JSON array" in caplog.text


def test_unclosed_input_is_bounded():
    splitter = StreamSplitter(max_buffer=64)
    splitter.feed(b"[" * 100)
    assert splitter.pending == 0
    assert splitter.feed(b"[1, null]") == [b"[1, null]"]
