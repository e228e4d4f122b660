"""The echo protocol's rules as a sans-I/O object: bytes and a clock in, events out (no sockets, no asyncio).

The transports in `rigs.echo.transport` feed every datagram (or every array split out of a TCP
stream) to `EchoCore.receive`, act on the event it returns, and tell the core what they send.
Waiters are opaque tokens to the core (the transports use futures), so the rules live here and
the I/O shell stays thin.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

from rigs.echo.codes import ERROR
from rigs.echo.wire import LegacyMessage, MalformedMessage, Message, decode, legacy_hint

log = logging.getLogger(__name__)

Addr = tuple[str, int]

# How long the bytes of a send whose echo never came are remembered: a late or duplicated echo
# must be swallowed, not mistaken for a new message (echoing it back would start a ping-pong).
DEFAULT_LINGER = 30.0


@dataclass(slots=True)
class Echo:
    """The peer echoed bytes we sent; `token` is the waiter it confirms (None for a late echo)."""

    addr: Addr
    raw: bytes
    token: Hashable | None


@dataclass(slots=True)
class Incoming:
    """A new message: send `echo` back at once (None for `[0...`), then dispatch it.

    `reply_to` is the waiter token when the message answers a request of the same code.
    """

    addr: Addr
    message: Message
    echo: bytes | None
    reply_to: Hashable | None


@dataclass(slots=True)
class ErrorReport:
    """The peer's handler for `code` failed (`[0, "Type: message", code]`); never echoed."""

    addr: Addr
    message: Message
    text: str
    code: int | None
    reply_to: Hashable | None


@dataclass(slots=True)
class Dropped:
    """Input that is not a message; it was not echoed."""

    addr: Addr
    raw: bytes
    reason: str
    legacy: bool = False


Event = Echo | Incoming | ErrorReport | Dropped


@dataclass(slots=True)
class _Outstanding:
    count: int = 0  # sends of these bytes not yet echoed
    tokens: deque = field(default_factory=deque)
    expires: float = 0.0


class EchoCore:
    """Echo matching and reply routing for one local endpoint (any number of peers)."""

    def __init__(self, *, linger: float = DEFAULT_LINGER) -> None:
        self.linger = linger
        self._sent: dict[tuple[Addr, bytes], _Outstanding] = {}
        self._replies: dict[tuple[Addr, int], deque] = {}
        self._next_purge = 0.0
        self._legacy_logged: set[str] = set()

    # -- what the shell tells the core ------------------------------------------------------
    def sent(self, addr: Addr, raw: bytes, now: float, token: Hashable | None = None) -> None:
        """Record a send whose echo is expected; `token` (if any) waits for it."""
        if raw.startswith(b"[0"):
            return  # error reports are never echoed
        key = (addr, raw)
        entry = self._sent.get(key)
        if entry is None:
            entry = self._sent[key] = _Outstanding()
        entry.count += 1
        entry.expires = now + self.linger
        if token is not None and token not in entry.tokens:
            entry.tokens.append(token)
        if now >= self._next_purge:
            self._purge(now)

    def abandon(self, addr: Addr, raw: bytes, token: Hashable) -> None:
        """Stop waiting for an echo; its bytes linger so a late echo is still recognised."""
        entry = self._sent.get((addr, raw))
        if entry is not None and token in entry.tokens:
            entry.tokens.remove(token)

    def expect_reply(self, addr: Addr, code: int, token: Hashable) -> None:
        """Route the next message with `code` from `addr` (or its error report) to `token`."""
        self._replies.setdefault((addr, int(code)), deque()).append(token)

    def cancel_reply(self, addr: Addr, code: int, token: Hashable) -> None:
        """Forget a reply waiter (it timed out or was answered)."""
        waiters = self._replies.get((addr, int(code)))
        if waiters is None:
            return
        try:
            waiters.remove(token)
        except ValueError:
            pass
        if not waiters:
            del self._replies[(addr, int(code))]

    def awaiting(self, addr: Addr | None = None) -> bool:
        """True while any waiter (echo or reply) is registered, for `addr` or for anyone."""
        sent = any(e.tokens and (addr is None or a == addr) for (a, _), e in self._sent.items())
        return sent or any(addr is None or a == addr for a, _ in self._replies)

    # -- what the network gives the core ----------------------------------------------------
    def receive(self, raw: bytes, addr: Addr, now: float) -> Event:
        """Classify one datagram (or one array from a stream) received from `addr`."""
        entry = self._sent.get((addr, raw))
        if entry is not None and entry.expires >= now:
            return self._echoed(addr, raw, entry)
        try:
            message = decode(raw)
        except LegacyMessage as exc:
            return self._legacy(addr, raw, str(exc))
        except MalformedMessage as exc:
            return Dropped(addr, raw, str(exc))
        if message.code == ERROR:
            return self._error_report(addr, message)
        token = self._pop_reply(addr, message.code)
        return Incoming(addr, message, None if raw.startswith(b"[0") else raw, token)

    # -- internals --------------------------------------------------------------------------
    def _echoed(self, addr: Addr, raw: bytes, entry: _Outstanding) -> Echo:
        entry.count -= 1
        token = entry.tokens.popleft() if entry.tokens else None
        if entry.count <= 0:
            del self._sent[(addr, raw)]
        return Echo(addr, raw, token)

    def _pop_reply(self, addr: Addr, code: int) -> Hashable | None:
        waiters = self._replies.get((addr, code))
        if not waiters:
            return None
        token = waiters.popleft()
        if not waiters:
            del self._replies[(addr, code)]
        return token

    def _error_report(self, addr: Addr, message: Message) -> ErrorReport:
        text = str(message.payload[0]) if message.payload else ""
        code = message.payload[1] if len(message.payload) > 1 else None
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        token = self._pop_reply(addr, code) if code is not None else None
        return ErrorReport(addr, message, text, code, token)

    def _legacy(self, addr: Addr, raw: bytes, reason: str) -> Dropped:
        if addr[0] not in self._legacy_logged:  # once per peer host: a legacy peer repeats itself
            if len(self._legacy_logged) >= 1024:  # a flood of source addresses must not grow it without bound
                self._legacy_logged.clear()
            self._legacy_logged.add(addr[0])
            log.error(
                "%s:%d speaks the echo protocol of iblutil < 1.11 (%s)%s; not supported: "
                "upgrade that rig's iblutil to >= 1.11",
                addr[0], addr[1], reason, legacy_hint(addr),
            )
        return Dropped(addr, raw, reason, legacy=True)

    def _purge(self, now: float) -> None:
        stale = [k for k, e in self._sent.items() if e.expires < now and not e.tokens]
        for key in stale:
            del self._sent[key]
        self._next_purge = now + self.linger

    def waiters(self) -> list[Hashable]:
        """Every registered waiter token (the shell cancels them on close)."""
        tokens = [t for e in self._sent.values() for t in e.tokens]
        return tokens + [t for q in self._replies.values() for t in q]
