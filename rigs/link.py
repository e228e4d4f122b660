"""The agent's link to the dashboard: connect, hello, statuses, durable events, commands, capped backoff.

The link never holds anything the rig needs: when the dashboard is away the rig keeps acquiring, events wait
in the outbox, and everything pending is sent again after the next hello. It never dies either: any
unexpected error is logged and followed by a reconnect, a message that cannot be encoded is normalised or
dropped with a log line, and an event the dashboard refuses for good is quarantined (kept on the rig, reported
as an `outbox.quarantined` event) so it never blocks the events behind it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from rigs.jsonbounds import normalise
from rigs.messages import DASHBOARD_TYPES, MessageError, decode, encode
from rigs.outbox import EventOutbox, event_normalise

log = logging.getLogger(__name__)

BACKOFF_FIRST = 0.5
BACKOFF_CAP = 10.0
# A link welcomed and up at least this long was a good connection: the next reconnect starts the backoff afresh.
# (Not at once: a dashboard that welcomes and drops every agent must not be hammered twice a second.)
STABLE_SECONDS = 5.0
QUARANTINE_EVENT = "outbox.quarantined"
# An event sent but not acked within this long is sent again (the dashboard may have failed to store it).
RESEND_AFTER = 10.0
EVENT_BATCH = 200

CommandHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
EchoHostsHandler = Callable[[list[str]], None]


class CommandFailed(Exception):
    """A command the agent could not carry out; the text goes back to the dashboard as the reason."""


class DashboardLink:
    """Keeps one websocket to the dashboard open for as long as the agent runs."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        rig: str,
        outbox: EventOutbox,
        hello: Callable[[], dict[str, Any]],
        status: Callable[[], dict[str, Any]],
        on_command: CommandHandler,
        status_interval: float = 0.5,
        on_echo_hosts: EchoHostsHandler | None = None,
    ) -> None:
        self.url, self.token, self.rig = url, token, rig
        self.outbox = outbox
        self._hello, self._status, self._on_command = hello, status, on_command
        self._on_echo_hosts = on_echo_hosts
        self.status_interval = status_interval
        self.failures = 0  # connection attempts in a row that did not give a good connection
        self.welcomed_at: float | None = None  # monotonic time of the current connection's welcome
        self.echo_hosts: list[str] | None = None  # the registered rigs' echo hosts, as the dashboard last sent them
        self.connected = asyncio.Event()
        self._wake = asyncio.Event()
        self._in_flight: dict[int, float] = {}
        self._ws: ClientConnection | None = None
        self._previews: asyncio.Queue[dict] = asyncio.Queue(maxsize=2)

    def events_added(self) -> None:
        """Tell the sender the outbox has something new (call from the loop thread)."""
        self._wake.set()

    async def close(self) -> None:
        """Say goodbye properly (code 1000) so the dashboard shows a clean stop, not a crash."""
        ws = self._ws
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(code=1000, reason="agent stopping"), timeout=2)
            except (TimeoutError, ConnectionClosed, OSError):
                pass

    def preview(self, message: dict) -> None:
        """Offer a preview; dropped when the link is down or busy (previews are not durable)."""
        if self.connected.is_set() and not self._previews.full():
            self._previews.put_nowait(message)

    async def run(self) -> None:
        while True:
            self.welcomed_at = None
            try:
                await self._session()
            except InvalidStatus as exc:
                code = exc.response.status_code
                reason = "the token was refused (wrong, rotated or revoked?)" if code == 403 else f"HTTP {code}"
                log.error("dashboard %s refused this rig: %s", self.url, reason)
                self.failures = max(self.failures, 4)
            except (TimeoutError, OSError, InvalidHandshake, ConnectionClosed) as exc:
                if self.connected.is_set() or self.failures == 0:
                    log.warning("dashboard link down (%s); retrying", exc.__class__.__name__ + (f": {exc}" if str(exc) else ""))
            except Exception:  # a bug or a surprise must never end the link silently: log it and reconnect
                log.exception("dashboard link failed unexpectedly; reconnecting")
            finally:
                self.connected.clear()
                self._ws = None
            await asyncio.sleep(self.next_delay() * random.uniform(0.8, 1.2))

    def next_delay(self) -> float:
        """Count the attempt that just ended and return the wait before the next one.

        A good connection (welcomed, then up for STABLE_SECONDS) starts the backoff afresh, so a rig is back
        within a second after a dashboard restart however many restarts came before.
        """
        if self.welcomed_at is not None and time.monotonic() - self.welcomed_at >= STABLE_SECONDS:
            self.failures = 0
        self.failures += 1
        return min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** min(self.failures - 1, 10))

    async def _session(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with connect(self.url, additional_headers=headers, open_timeout=10, ping_interval=20,
                           ping_timeout=20, max_size=2**20, close_timeout=2) as ws:
            self._ws = ws
            await ws.send(encode(self._hello()))
            welcome = await asyncio.wait_for(self._receive_welcome(ws), timeout=15)
            self.outbox.renumber_after(welcome["last_seq"])
            self._in_flight.clear()
            self._echo_hosts(welcome.get("echo_hosts"))
            self.welcomed_at = time.monotonic()
            self.connected.set()
            log.info("connected to dashboard %s as %s", self.url, self.rig)
            tasks = [asyncio.ensure_future(c) for c in (self._receiver(ws), self._status_sender(ws),
                                                       self._event_sender(ws), self._preview_sender(ws))]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    task.result()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _receive_welcome(self, ws: ClientConnection) -> dict:
        while True:
            message = self._decode(await ws.recv())
            if message is None:
                continue
            if message["type"] == "welcome":
                return message
            if message["type"] == "error":
                log.error("dashboard rejected hello: %s", message["error"])

    def _decode(self, text) -> dict | None:
        try:
            return decode(text, allowed=DASHBOARD_TYPES)
        except MessageError as exc:
            log.warning("ignoring a malformed message from the dashboard: %s", exc)
            return None

    async def _receiver(self, ws: ClientConnection) -> None:
        async for text in ws:
            message = self._decode(text)
            if message is None:
                continue
            if message["type"] == "ack":
                self.outbox.ack(message["seqs"])
                for seq in message["seqs"]:
                    self._in_flight.pop(seq, None)
            elif message["type"] == "command":
                asyncio.ensure_future(self._run_command(ws, message))
            elif message["type"] == "registry":
                self._echo_hosts(message["echo_hosts"])
            elif message["type"] == "error" and message.get("seq") is not None:
                self._quarantine(message["seq"], f"the dashboard refused it: {message['error']}")
            elif message["type"] == "error":
                log.warning("dashboard rejected a message: %s", message["error"])

    def _echo_hosts(self, hosts: list[str] | None) -> None:
        if hosts is None:
            return
        self.echo_hosts = list(hosts)
        if self._on_echo_hosts is not None:
            try:
                self._on_echo_hosts(self.echo_hosts)
            except Exception:
                log.exception("applying the dashboard's echo host list failed")

    def _quarantine(self, seq: int, reason: str) -> None:
        """Keep a refused event on the rig, out of the way of the events behind it, and report it (once)."""
        self._in_flight.pop(seq, None)
        event = self.outbox.quarantine(seq, reason)
        if event is None:
            return
        log.error("event %d %s quarantined: %s", seq, event["name"], reason)
        if event["name"] != QUARANTINE_EVENT:  # a refused report is kept too, but not reported again
            self.outbox.append(QUARANTINE_EVENT, {"seq": seq, "name": event["name"], "reason": reason})
            self._wake.set()

    async def _run_command(self, ws: ClientConnection, command: dict) -> None:
        reply: dict[str, Any] = {"type": "reply", "rig": self.rig, "id": command["id"]}
        try:
            result = await self._on_command(command)
            reply.update(ok=True, result=result or {})
        except CommandFailed as exc:
            reply.update(ok=False, error=str(exc))
        except Exception as exc:  # a bug in a handler is reported, never fatal to the link
            log.exception("command %s failed", command["action"])
            reply.update(ok=False, error=f"{exc.__class__.__name__}: {exc}")
        try:
            text = encode(reply)
        except MessageError as exc:  # a handler's result that cannot be sent: the reply still says what happened
            log.warning("command %s: its result cannot be sent as it is (%s); sending it normalised", command["id"], exc)
            text = _encode_or_error(reply, exc)
        try:
            await ws.send(text)
        except ConnectionClosed:
            log.warning("could not reply to command %s: link closed", command["id"])

    async def _status_sender(self, ws: ClientConnection) -> None:
        while True:
            status = self._status()
            try:
                text = encode(status)
            except MessageError as exc:
                log.warning("status cannot be sent as it is (%s); sending it normalised", exc)
                text = encode(normalise(status))
            await ws.send(text)
            await asyncio.sleep(self.status_interval)

    async def _event_sender(self, ws: ClientConnection) -> None:
        while True:
            now = time.monotonic()
            due = [e for e in self.outbox.pending(limit=EVENT_BATCH * 5)
                   if now - self._in_flight.get(e["seq"], -RESEND_AFTER) >= RESEND_AFTER][:EVENT_BATCH]
            for event in due:
                text = self._event_text(event)
                if text is None:
                    continue
                await ws.send(text)
                self._in_flight[event["seq"]] = now
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0 if not due else 0.05)
            except TimeoutError:
                pass

    def _event_text(self, event: dict[str, Any]) -> str | None:
        """The event's message; one stored before events were normalised (an outbox from an older agent) is
        sent normalised, and one that cannot be sent at all is quarantined instead of blocking the others."""
        message = {"type": "event", "rig": self.rig, **event}
        try:
            return encode(message)
        except MessageError as exc:
            name, when, data = event_normalise(event["name"], event["data"], event["time"])
            try:
                text = encode({**message, "name": name, "time": when, "data": data})
            except MessageError as again:
                self._quarantine(event["seq"], f"cannot be sent: {again}")
                return None
            log.warning("event %d %s sent normalised: %s", event["seq"], event["name"], exc)
            return text

    async def _preview_sender(self, ws: ClientConnection) -> None:
        while True:
            preview = await self._previews.get()
            try:
                text = encode(preview)
            except MessageError as exc:
                log.warning("preview dropped: %s", exc)
                continue
            await ws.send(text)


def _encode_or_error(reply: dict[str, Any], exc: MessageError) -> str:
    try:
        return encode(normalise(reply))
    except MessageError:
        return encode({**{k: reply[k] for k in ("type", "rig", "id")}, "ok": False, "result": None,
                       "error": f"the rig's answer could not be sent: {exc}"[:2000]})
