"""Splitting a TCP byte stream into JSON arrays: iblutil writes messages back to back with no delimiter."""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

# Only these bytes change the nesting state; UTF-8 multi-byte sequences never contain them.
_TOKENS = re.compile(rb'[\[\]"\\]')
_OPEN, _CLOSE, _QUOTE, _BACKSLASH = ord("["), ord("]"), ord('"'), ord("\\")
_SPACE = b" \t\r\n"
DEFAULT_MAX_BUFFER = 1 << 20


def array_end(buf: bytes | bytearray, start: int = 0) -> int | None:
    """Return the index just past the JSON array opening at `buf[start]`, or None if incomplete."""
    depth = 0
    in_string = False
    escaped = -1  # index of the byte a backslash escapes
    for match in _TOKENS.finditer(buf, start):
        i = match.start()
        byte = buf[i]
        if in_string:
            if i == escaped:
                continue
            if byte == _BACKSLASH:
                escaped = i + 1
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte == _OPEN:
            depth += 1
        elif byte == _CLOSE:
            depth -= 1
            if depth == 0:
                return i + 1
    return None


class StreamSplitter:
    """Accumulate TCP reads and hand out each complete top-level JSON array's exact bytes.

    Bytes before an array that cannot start one are dropped with a log line; a partial array
    waits for the next read; a buffer that grows past `max_buffer` without closing is dropped.
    """

    def __init__(self, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self._buf = bytearray()
        self.max_buffer = max_buffer

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the rest of an array."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add one read; return the complete arrays it finished, in order."""
        buf = self._buf
        if not buf and data[:1] == b"[" and data[-1:] == b"]" and array_end(data) == len(data):
            return [data]  # the common case: exactly one message per read
        buf += data
        out: list[bytes] = []
        pos = 0
        while pos < len(buf):
            pos = self._skip_to_array(buf, pos)
            if pos >= len(buf):
                break
            end = array_end(buf, pos)
            if end is None:
                break
            out.append(bytes(buf[pos:end]))
            pos = end
        del buf[:pos]
        if len(buf) > self.max_buffer:
            log.warning("dropping %d bytes of TCP input that never closed a JSON array", len(buf))
            buf.clear()
        return out

    @staticmethod
    def _skip_to_array(buf: bytearray, pos: int) -> int:
        while pos < len(buf) and buf[pos] in _SPACE:
            pos += 1
        if pos < len(buf) and buf[pos] != _OPEN:
            nxt = buf.find(b"[", pos)
            end = len(buf) if nxt < 0 else nxt
            log.warning("dropping %d bytes of TCP input that are not a JSON array: %r", end - pos, bytes(buf[pos:end])[:80])
            return end
        return pos
