"""The listening side an agent embeds: `EchoRig` answers a main rig's lifecycle messages with its handlers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from rigs.echo.allow import PeerAllowList
from rigs.echo.codes import ExpMessage, ExpStatus
from rigs.echo.core import Addr, ErrorReport
from rigs.echo.events import MessageEvent, Observer, notify
from rigs.echo.transport import DEFAULT_ATTEMPTS, DEFAULT_ECHO_TIMEOUT, EchoEndpoint
from rigs.echo.wire import Message, encode_error
from rigs.layout import LayoutError, exp_ref_check

log = logging.getLogger(__name__)
QUIET_LOG_S = 60.0  # a line repeated by every stray datagram is written at most this often per kind

M = ExpMessage
# Lifecycle transitions run one at a time; EXPINFO and EXPSTATUS are answered at once.
_SERIALIZED = frozenset({M.EXPINIT, M.EXPSTART, M.EXPEND, M.EXPINTERRUPT, M.EXPCLEANUP})
# The status a successful handler moves the rig to (EXPCLEANUP, EXPINFO, EXPSTATUS change nothing).
_NEXT_STATUS = {
    M.EXPINIT: ExpStatus.INITIALIZED,
    M.EXPSTART: ExpStatus.RUNNING,
    M.EXPEND: ExpStatus.STOPPED,
    M.EXPINTERRUPT: ExpStatus.STOPPED,
}


def exp_ref_of(value: Any) -> str | None:
    """A checked exp_ref from a string or iblutil's `{date, sequence, subject}` dict (None when there is none).

    It arrived over the network and will name a folder: LayoutError when it is not a valid exp_ref."""
    if isinstance(value, dict) and {"date", "sequence", "subject"} <= value.keys():
        try:
            value = f"{value['date']}_{int(value['sequence'])}_{value['subject']}"
        except (TypeError, ValueError):
            raise LayoutError(f"{value!r} is not an exp_ref") from None
    if value is None or value == "":
        return None
    return exp_ref_check(value)


@dataclass(slots=True)
class Request:
    """A lifecycle message a main rig sent to this rig, as handed to a handler."""

    code: int
    payload: list[Any]
    peer: Addr

    @property
    def name(self) -> str:
        return M(self.code).name

    @property
    def data(self) -> Any:
        """The message's free data: `[1, data]`, `[2, ref, data]`, `[64, status, data]`, `[4|8|16, data]`."""
        index = 1 if self.code in (M.EXPSTART, M.EXPINFO) else 0
        return self.payload[index] if len(self.payload) > index else None

    @property
    def exp_ref(self) -> str | None:
        """The exp_ref this message carries (EXPSTART's argument, or `exp_ref` in its data)."""
        if self.code == M.EXPSTART:
            return exp_ref_of(self.payload[0] if self.payload else None)
        return exp_ref_of(self.data.get("exp_ref")) if isinstance(self.data, dict) else None

    @property
    def status(self) -> int | None:
        """The status carried by EXPSTATUS and EXPINFO."""
        if self.code in (M.EXPSTATUS, M.EXPINFO) and self.payload and isinstance(self.payload[0], int):
            return self.payload[0]
        return None


Handler = Callable[[Request], Awaitable[Mapping[str, Any] | None]]


class EchoRig:
    """A rig that listens for a main rig's echo messages and answers each with a reply of the same code.

    Handlers are `async def handler(request: Request) -> dict | None`; the dict (if any) is merged
    into the reply's data. They must be idempotent: a main rig may resend a message. A handler
    that raises is answered with an error report `[0, "Type: message", code]`.
    """

    def __init__(
        self,
        uri: str,
        name: str,
        *,
        main_sync: bool = False,
        on_init: Handler | None = None,
        on_start: Handler | None = None,
        on_stop: Handler | None = None,
        on_interrupt: Handler | None = None,
        on_cleanup: Handler | None = None,
        on_status: Handler | None = None,
        on_info: Handler | None = None,
        on_message: Observer | None = None,
        echo_timeout: float = DEFAULT_ECHO_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        allow: PeerAllowList | None = None,
    ) -> None:
        self.uri, self.name, self.main_sync = uri, name, main_sync
        self.handlers: dict[int, Handler | None] = {
            M.EXPINIT: on_init, M.EXPSTART: on_start, M.EXPEND: on_stop, M.EXPINTERRUPT: on_interrupt,
            M.EXPCLEANUP: on_cleanup, M.EXPSTATUS: on_status, M.EXPINFO: on_info,
        }
        self.on_message = on_message
        self.status: ExpStatus = ExpStatus.CONNECTED
        self.exp_ref: str | None = None
        self._options = {"echo_timeout": echo_timeout, "attempts": attempts, "allow": allow}
        self._quiet: dict[str, float] = {}
        self._endpoint: EchoEndpoint | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()

    # -- lifetime -----------------------------------------------------------------------------
    async def start(self) -> EchoRig:
        """Start listening; `endpoint_uri` then holds the bound address (a port 0 URI gets a real port)."""
        self._endpoint = await EchoEndpoint.listen(
            self.uri, name=self.name, on_message=self._dispatch, on_error_report=self._on_error_report, **self._options
        )
        return self

    @property
    def endpoint_uri(self) -> str:
        """The URI this rig listens on, e.g. `udp://127.0.0.1:11001`."""
        if self._endpoint is None:
            raise RuntimeError("EchoRig.start() has not been awaited")
        return self._endpoint.endpoint.uri

    async def close(self) -> None:
        """Stop listening and cancel answers in progress."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._endpoint is not None:
            self._endpoint.close()

    async def __aenter__(self) -> EchoRig:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- serving ------------------------------------------------------------------------------
    def _dispatch(self, message: Message, addr: Addr) -> None:
        self._report("received", "request", addr, message.code, message.payload)
        if message.code == M.ALYX:
            self._log_quietly("alyx", logging.INFO, "[%s] ignoring ALYX from %s:%d (Alyx tokens are not handled "
                              "by labweb)", self.name, *addr)
            return
        request = Request(message.code, message.payload, addr)
        received = time.perf_counter()
        waits = self.handlers.get(message.code) is not None or (message.code in _SERIALIZED and self._lock.locked())
        if not waits:
            self._reply(request, received, {})  # nothing to await: answer in this very callback
            return
        task = asyncio.ensure_future(self._serve(request, received))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, request: Request, received: float) -> None:
        handler = self.handlers.get(request.code)
        try:
            if request.code in _SERIALIZED:
                async with self._lock:
                    extra = await handler(request) if handler is not None else None
            else:
                extra = await handler(request)
        except (ValueError, LookupError) as exc:  # the request was refused (busy, bad exp_ref): its reason is enough
            log.warning("[%s] %s from %s:%d refused: %s", self.name, request.name, *request.peer, exc)
            self._send_error(request, exc)
            return
        except Exception as exc:
            log.exception("[%s] %s handler failed", self.name, request.name)
            self._send_error(request, exc)
            return
        self._reply(request, received, dict(extra or {}))

    def _reply(self, request: Request, received: float, extra: dict[str, Any]) -> None:
        """Apply the message to the rig's state and send the reply (confirmed, resent if need be)."""
        try:
            status = _NEXT_STATUS.get(request.code, self.status)
            exp_ref = self._exp_ref_after(request, extra)
            payload = self._reply_payload(request.code, extra, status, exp_ref)
            raw = self._endpoint.encode(request.code, *payload)
        except (ValueError, LookupError) as exc:  # what the message carries cannot be taken (a bad exp_ref)
            self._log_quietly(f"refused:{request.peer[0]}", logging.WARNING, "[%s] %s from %s:%d refused: %s",
                              self.name, request.name, *request.peer, exc)
            self._send_error(request, exc)
            return
        except Exception as exc:
            log.exception("[%s] %s reply failed", self.name, request.name)
            self._send_error(request, exc)
            return
        self.status, self.exp_ref = status, exp_ref  # only once the reply is sure to go out
        self._report("sent", "reply", request.peer, request.code, payload, time.perf_counter() - received)
        self._endpoint.confirmed_send_nowait(raw, request.peer, on_fail=partial(self._reply_lost, request))

    def _reply_lost(self, request: Request, exc: Exception) -> None:
        self._log_quietly(f"lost:{request.peer[0]}", logging.WARNING, "[%s] %s reply to %s:%d not confirmed: %s",
                          self.name, request.name, *request.peer, exc)

    def _log_quietly(self, kind: str, level: int, message: str, *args: Any) -> None:
        """A line that a stray or hostile peer could make us repeat: once per QUIET_LOG_S per kind."""
        now = time.monotonic()
        if now - self._quiet.get(kind, float("-inf")) >= QUIET_LOG_S:
            if len(self._quiet) > 1024:
                self._quiet.clear()
            self._quiet[kind] = now
            log.log(level, message, *args)

    def _exp_ref_after(self, request: Request, extra: dict[str, Any]) -> str | None:
        """The exp_ref this rig holds once the message is handled."""
        if request.code == M.EXPINFO and self.main_sync:
            exp_ref = extra.pop("exp_ref", None) or self.exp_ref  # the main sync gives the exp_ref
            if not exp_ref:
                raise ValueError(f"{self.name} is the main sync but has no exp_ref to give")
            return exp_ref
        return request.exp_ref or self.exp_ref

    def _reply_payload(self, code: int, extra: dict[str, Any], status: int, exp_ref: str | None) -> list[Any]:
        if code == M.EXPINFO:
            extra.pop("main_sync", None)  # what this rig is configured as wins
            return [int(status), {"main_sync": self.main_sync, "exp_ref": exp_ref, **extra}]
        if code == M.EXPSTATUS:
            return [int(extra.get("status", status))]
        if code == M.EXPSTART:
            return [exp_ref, extra or None]
        if code == M.EXPINIT:
            return [{"exp_ref": exp_ref, "status": int(status), **extra}]
        return [{"status": int(status), **extra}]

    def _send_error(self, request: Request, exc: Exception) -> None:
        raw = encode_error(exc, request.code)
        self._report("sent", "error", request.peer, request.code, [f"{type(exc).__name__}: {exc}", request.code])
        try:
            self._endpoint.send(raw, request.peer)
        except OSError as send_exc:
            log.warning("[%s] error report to %s:%d failed: %s", self.name, *request.peer, send_exc)

    def _on_error_report(self, report: ErrorReport) -> None:
        self._report("received", "error", report.addr, report.code or 0, report.message.payload)

    def _report(self, direction: str, kind: str, peer: Addr, code: int, payload: list, elapsed: float | None = None) -> None:
        if self.on_message is not None:
            notify(self.on_message, MessageEvent(self.name, direction, kind, peer, code, list(payload), elapsed))
