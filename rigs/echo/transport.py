"""Asyncio transports around `EchoCore`: UDP datagrams and plain TCP streams, listening or sending."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from rigs.echo.allow import PeerAllowList
from rigs.echo.codes import code_name
from rigs.echo.core import DEFAULT_LINGER, Addr, Echo, EchoCore, ErrorReport, Incoming
from rigs.echo.errors import EchoTimeout, RemoteError, ReplyTimeout
from rigs.echo.framing import StreamSplitter
from rigs.echo.uri import Endpoint, parse_uri
from rigs.echo.wire import Message, check_udp_size, encode

log = logging.getLogger(__name__)

DEFAULT_ECHO_TIMEOUT = 1.0  # iblutil's default wait for an echo
DEFAULT_ATTEMPTS = 3  # sends of one confirmed message before giving up (handlers are idempotent)
# iblutil reads a TCP stream one recv() at a time and takes it as one message, so two of our writes
# landing in one of its reads (an echo and a fast reply) break it; spacing writes to a peer avoids that.
DEFAULT_STREAM_GAP = 0.002

_EXPIRED = object()  # a timer's result: cheaper than raising inside the event loop
_now = time.monotonic
DROP_LOG_EVERY_S = 60.0  # malformed input is logged once per peer per minute: a flood must not flood the log
_DROP_LOG_PEERS = 1024

MessageHandler = Callable[[Message, Addr], None]
ErrorHandler = Callable[[ErrorReport], None]


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(_EXPIRED)


class EchoEndpoint:
    """One local echo endpoint: a listener (`listen`) serving many peers or a sender (`connect`) to one.

    New messages go to `on_message(message, addr)` after they were echoed; replies go to the
    `request` awaiting them; error reports without a waiter go to `on_error_report`.
    A listening endpoint with `allow` drops every datagram (and TCP connection) from a peer the list does not
    allow, before anything else: no echo, no answer, no handler; `allow.stats()` counts them.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        listening: bool,
        name: str | None = None,
        echo_timeout: float = DEFAULT_ECHO_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        linger: float = DEFAULT_LINGER,
        stream_gap: float = DEFAULT_STREAM_GAP,
        on_message: MessageHandler | None = None,
        on_error_report: ErrorHandler | None = None,
        allow: PeerAllowList | None = None,
    ) -> None:
        if echo_timeout <= 0 or attempts < 1:
            raise ValueError("echo_timeout must be > 0 and attempts >= 1")
        self.endpoint = endpoint
        self.listening = listening
        self.name = name or endpoint.uri
        self.echo_timeout = echo_timeout
        self.attempts = attempts
        self.core = EchoCore(linger=linger)
        self.on_message = on_message
        self.on_error_report = on_error_report
        self._loop = asyncio.get_running_loop()
        self._datagram: asyncio.DatagramTransport | None = None
        self._server: asyncio.AbstractServer | None = None
        self._streams: dict[Addr, asyncio.Transport] = {}
        self.stream_gap = stream_gap
        self._last_write: dict[Addr, float] = {}
        self._backlog: dict[Addr, list[bytes]] = {}
        self._closed = False
        self.allow = allow if listening else None  # a sending endpoint only hears its one peer anyway
        self.dropped = 0  # malformed input ignored
        self._drop_logged: dict[str, float] = {}
        self._report_logged: dict[str, float] = {}
        self._retry_logged: dict[str, float] = {}

    # -- construction -------------------------------------------------------------------------
    @classmethod
    async def listen(cls, uri: str, **kwargs: Any) -> EchoEndpoint:
        """Listen on `uri` (port 0 asks for an ephemeral port; `.endpoint` then holds the real one)."""
        self = cls(parse_uri(uri, allow_port_zero=True), listening=True, **kwargs)
        await self._open()
        log.info("[%s] listening on %s", self.name, self.endpoint.uri)
        return self

    @classmethod
    async def connect(cls, uri: str, **kwargs: Any) -> EchoEndpoint:
        """Talk to the rig listening at `uri`."""
        self = cls(parse_uri(uri), listening=False, **kwargs)
        await self._open()
        return self

    async def _open(self) -> None:
        if self.endpoint.is_stream:
            await (self._start_server() if self.listening else self._open_stream())
        else:
            await self._open_datagram()

    async def _open_datagram(self) -> None:
        family = socket.AF_INET6 if ":" in self.endpoint.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if hasattr(socket, "SIO_UDP_CONNRESET"):  # Windows: an ICMP "port unreachable" must not break reads
                sock.ioctl(socket.SIO_UDP_CONNRESET, False)
            sock.bind(self.endpoint.addr if self.listening else ("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            sock.setblocking(False)
            self._datagram, _ = await self._loop.create_datagram_endpoint(lambda: _DatagramProtocol(self), sock=sock)
        except BaseException:
            sock.close()
            raise
        if self.listening:
            self.endpoint = self.endpoint.with_port(sock.getsockname()[1])

    async def _start_server(self) -> None:
        self._server = await self._loop.create_server(lambda: _StreamProtocol(self), *self.endpoint.addr)
        self.endpoint = self.endpoint.with_port(self._server.sockets[0].getsockname()[1])

    async def _open_stream(self) -> None:
        await self._loop.create_connection(lambda: _StreamProtocol(self), *self.endpoint.addr)

    # -- sending ------------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        """True while the socket is open (a sending TCP endpoint: while its connection is up)."""
        if self._closed:
            return False
        if self.endpoint.is_stream and not self.listening:
            return self.endpoint.addr in self._streams
        return True

    def _peer(self, addr: Addr | None) -> Addr:
        if addr is None:
            if self.listening:
                raise TypeError("a listening endpoint needs the peer address")
            return self.endpoint.addr
        return (addr[0], addr[1])

    def encode(self, code: int, *payload: Any) -> bytes:
        """Encode a message for this transport (UDP messages must fit in one datagram)."""
        raw = encode(code, *payload)
        return raw if self.endpoint.is_stream else check_udp_size(raw)

    def send(self, raw: bytes, addr: Addr | None = None) -> None:
        """Write bytes now, with no echo expected; raise ConnectionError if the stream is gone."""
        addr = self._peer(addr)
        if self._datagram is not None:
            self._datagram.sendto(raw, addr)
            return
        stream = self._streams.get(addr)
        if stream is None or stream.is_closing():
            raise ConnectionError(f"no open TCP connection to {addr[0]}:{addr[1]}")
        backlog = self._backlog.get(addr)
        if backlog is not None:
            backlog.append(raw)
            return
        wait = self._last_write.get(addr, -1e9) + self.stream_gap - _now()
        if wait <= 0:
            stream.write(raw)
            self._last_write[addr] = _now()
        else:
            self._backlog[addr] = [raw]
            self._loop.call_later(wait, self._flush, addr)

    def _flush(self, addr: Addr) -> None:
        """Write the oldest held-back message to a TCP peer, then schedule the next one."""
        backlog = self._backlog.get(addr)
        stream = self._streams.get(addr)
        if not backlog or stream is None or stream.is_closing():
            self._backlog.pop(addr, None)
            return
        stream.write(backlog.pop(0))
        self._last_write[addr] = _now()
        if backlog:
            self._loop.call_later(self.stream_gap, self._flush, addr)
        else:
            del self._backlog[addr]

    def confirmed_send_nowait(self, raw: bytes, addr: Addr | None = None,
                              on_fail: Callable[[EchoTimeout], None] | None = None) -> None:
        """Start a confirmed send and return at once; `on_fail` is called if no attempt is echoed."""
        _ConfirmedSend(self, raw, self._peer(addr), None, on_fail=on_fail).start()

    async def confirmed_send(self, raw: bytes, addr: Addr | None = None) -> None:
        """Send `raw` and wait for the identical bytes back, resending up to `attempts` times.

        Raises `EchoTimeout` when no attempt was echoed.
        """
        future = self._loop.create_future()
        _ConfirmedSend(self, raw, self._peer(addr), future, settle_on_echo=True).start()
        await future

    async def request(self, code: int, *payload: Any, addr: Addr | None = None, timeout: float | None = None) -> Message:
        """Send `[code, *payload]` (confirmed) and return the peer's reply with the same code.

        Raises `EchoTimeout`, `ReplyTimeout` or `RemoteError` (the peer's handler failed). A reply
        also proves delivery, so it ends the resending even if the echo was lost.
        """
        addr = self._peer(addr)
        raw = self.encode(code, *payload)
        reply = self._loop.create_future()
        self.core.expect_reply(addr, code, reply)
        _ConfirmedSend(self, raw, addr, reply).start()
        handle = self._loop.call_later(timeout, _expire, reply) if timeout else None
        try:
            result = await reply
        finally:
            if handle is not None:
                handle.cancel()
            self.core.cancel_reply(addr, code, reply)
        if result is _EXPIRED:
            raise ReplyTimeout(f"{self.name}: no {code_name(code)} reply from {addr[0]}:{addr[1]} within {timeout} s")
        return result

    # -- receiving ----------------------------------------------------------------------------
    def _received(self, raw: bytes, addr: Addr) -> None:
        event = self.core.receive(raw, addr, _now())
        kind = type(event)
        if kind is Echo:
            if event.token is not None:
                event.token.echoed()
        elif kind is Incoming:
            self._incoming(event)
        elif kind is ErrorReport:
            self._error_report(event)
        elif not event.legacy:
            self._dropped(addr, event.reason, raw)

    def _log_due(self, logged: dict[str, float], addr: Addr) -> bool:
        """True at most once a minute per peer host (a flood from one peer is one log line a minute)."""
        now = _now()
        last = logged.get(addr[0])
        if last is not None and now - last < DROP_LOG_EVERY_S:
            return False
        if len(logged) >= _DROP_LOG_PEERS:
            logged.clear()
        logged[addr[0]] = now
        return True

    def _dropped(self, addr: Addr, reason: str, raw: bytes) -> None:
        """Malformed input: counted, and logged at most once a minute per peer (with how many since)."""
        self.dropped += 1
        if not self._log_due(self._drop_logged, addr):
            return
        log.warning("[%s] dropped input from %s:%d: %s: %r (%d dropped in all; next log line for this peer in a "
                    "minute at the earliest)", self.name, addr[0], addr[1], reason, raw[:80], self.dropped)

    def _incoming(self, event: Incoming) -> None:
        if event.echo is not None:
            try:
                self.send(event.echo, event.addr)  # echo at once, before anything else
            except OSError as exc:
                log.warning("[%s] echo to %s:%d failed: %s", self.name, *event.addr, exc)
        # reply_to is the core's opaque token: here, this transport's future (hence the type: ignore).
        if event.reply_to is not None and not event.reply_to.done():  # type: ignore[attr-defined]
            event.reply_to.set_result(event.message)  # type: ignore[attr-defined]
        elif self.on_message is not None:
            try:
                self.on_message(event.message, event.addr)
            except Exception:
                log.exception("[%s] handling %s from %s:%d failed", self.name, event.message.name, *event.addr)
        else:
            log.debug("[%s] unsolicited %s from %s:%d", self.name, event.message.name, *event.addr)

    def _error_report(self, event: ErrorReport) -> None:
        waiter = event.reply_to
        if waiter is not None or self._log_due(self._report_logged, event.addr):  # unasked-for: once a minute
            log.error("[%s] %s:%d reports that its %s handler failed: %s",
                      self.name, event.addr[0], event.addr[1], code_name(event.code or 0), event.text[:200])
        if waiter is not None and not waiter.done():  # type: ignore[attr-defined]
            waiter.set_exception(RemoteError(self.name, event.code, event.text))  # type: ignore[attr-defined]
        elif self.on_error_report is not None:
            self.on_error_report(event)

    # -- closing ------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the socket(s) and cancel every waiter."""
        self._closed = True
        if self._datagram is not None:
            self._datagram.close()
        if self._server is not None:
            self._server.close()
        for stream in list(self._streams.values()):
            stream.close()
        for token in self.core.waiters():
            future = token.future if isinstance(token, _ConfirmedSend) else token
            if isinstance(future, asyncio.Future) and not future.done():
                future.cancel()


class _ConfirmedSend:
    """One confirmed send as loop callbacks (no task): send, arm a timer, resend on timeout.

    `future` (if any) is what a caller awaits: with `settle_on_echo` the echo resolves it;
    otherwise (a request) the reply does, and its completion stops the resending. Giving up sets
    `EchoTimeout` on the future, or passes it to `on_fail`.
    """

    __slots__ = ("ep", "raw", "addr", "future", "settle_on_echo", "on_fail", "attempt", "timer", "confirmed")

    def __init__(self, ep: EchoEndpoint, raw: bytes, addr: Addr, future: asyncio.Future | None, *,
                 settle_on_echo: bool = False, on_fail: Callable[[EchoTimeout], None] | None = None) -> None:
        self.ep, self.raw, self.addr, self.future = ep, raw, addr, future
        self.settle_on_echo, self.on_fail = settle_on_echo, on_fail
        self.attempt = 0
        self.timer: asyncio.TimerHandle | None = None
        self.confirmed = False

    def start(self) -> None:
        if self.future is not None:
            self.future.add_done_callback(self._stop)
        self._send()

    def _send(self) -> None:
        ep = self.ep
        self.attempt += 1
        ep.core.sent(self.addr, self.raw, _now(), self)
        self.timer = ep._loop.call_later(ep.echo_timeout, self._timed_out)
        if ep.endpoint.is_stream and not ep.listening and self.addr not in ep._streams and not ep._closed:
            ep._loop.create_task(self._reconnect_and_send())  # a sending TCP endpoint reconnects
            return
        try:
            ep.send(self.raw, self.addr)
        except OSError as exc:
            log.warning("[%s] send to %s:%d failed: %s", ep.name, self.addr[0], self.addr[1], exc)

    async def _reconnect_and_send(self) -> None:
        try:
            await self.ep._open_stream()
            self.ep.send(self.raw, self.addr)
        except OSError as exc:
            log.warning("[%s] connection to %s:%d failed: %s", self.ep.name, self.addr[0], self.addr[1], exc)

    def echoed(self) -> None:
        """The core matched our echo (it already dropped this waiter)."""
        self.confirmed = True
        self.timer.cancel()
        if self.settle_on_echo and not self.future.done():
            self.future.set_result(True)

    def _timed_out(self) -> None:
        ep = self.ep
        ep.core.abandon(self.addr, self.raw, self)
        if self.confirmed or (self.future is not None and self.future.done()):
            return
        if self.attempt < ep.attempts:
            if ep._log_due(ep._retry_logged, self.addr):  # a peer that never echoes: one line a minute, not per send
                log.warning("[%s] no echo from %s:%d for %r (attempt %d of %d)",
                            ep.name, self.addr[0], self.addr[1], self.raw[:60], self.attempt, ep.attempts)
            self._send()
            return
        exc = EchoTimeout(f"{ep.name}: no echo from {self.addr[0]}:{self.addr[1]} after {ep.attempts} attempts")
        if self.future is not None:
            self.future.set_exception(exc)
        elif self.on_fail is not None:
            self.on_fail(exc)

    def _stop(self, _: asyncio.Future) -> None:
        # the caller gave up, or the request was answered: stop resending; the bytes linger in the core
        if not self.confirmed:
            self.timer.cancel()
            self.ep.core.abandon(self.addr, self.raw, self)


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: EchoEndpoint) -> None:
        self.owner = owner
        self.peer = None if owner.listening else owner.endpoint.addr

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        addr = (addr[0], addr[1])
        if self.peer is not None and addr != self.peer:
            log.debug("[%s] ignoring a datagram from %s:%d", self.owner.name, *addr)
            return
        allow = self.owner.allow
        if allow is not None and not allow.allows(addr[0]):
            allow.refuse(addr)
            return
        try:
            self.owner._received(data, addr)
        except Exception:  # never reached by design; if it is, one datagram must not become a traceback flood
            self.owner._dropped(addr, "could not be handled", data)
            log.debug("[%s] datagram from %s:%d could not be handled", self.owner.name, *addr, exc_info=True)

    def error_received(self, exc: Exception) -> None:
        # e.g. ICMP port unreachable while the peer restarts: keep the socket, the retries cope
        log.warning("[%s] socket error: %s", self.owner.name, exc)


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, owner: EchoEndpoint) -> None:
        self.owner = owner
        self.splitter = StreamSplitter()
        self.peer: Addr | None = None
        self.refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.peer = (peer[0], peer[1])
        allow = self.owner.allow
        if allow is not None and not allow.allows(self.peer[0]):
            allow.refuse(self.peer, "connection")
            self.refused = True
            transport.abort()  # type: ignore[attr-defined]  # not a byte read from it, nothing sent back
            return
        self.owner._streams[self.peer] = transport  # type: ignore[assignment]
        log.debug("[%s] TCP connection with %s:%d", self.owner.name, *self.peer)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        for raw in self.splitter.feed(data):
            try:
                self.owner._received(raw, self.peer)
            except Exception:
                self.owner._dropped(self.peer, "could not be handled", raw)
                log.debug("[%s] message from %s:%d could not be handled", self.owner.name, *self.peer, exc_info=True)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.refused:
            return
        if self.owner._streams.get(self.peer) is not None:
            del self.owner._streams[self.peer]
        self.owner._last_write.pop(self.peer, None)
        if self.splitter.pending:
            log.warning("[%s] connection with %s:%d closed mid-message (%d bytes dropped)",
                        self.owner.name, *self.peer, self.splitter.pending)
