"""The main rig's side: `RemoteRig` talks to one listening rig, `Services` to a group of them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import Any

from rigs.echo.codes import ExpMessage, ExpStatus
from rigs.echo.core import ErrorReport
from rigs.echo.errors import EchoError, RemoteError, ServicesError, ServicesTimeout
from rigs.echo.events import MessageEvent, Observer, notify
from rigs.echo.transport import DEFAULT_ATTEMPTS, DEFAULT_ECHO_TIMEOUT, EchoEndpoint
from rigs.echo.wire import Message, plain

log = logging.getLogger(__name__)

M = ExpMessage
DEFAULT_TIMEOUT = 10.0  # iblutil's Services default


class RemoteRig:
    """One listening rig as seen from the main: each method sends a message and returns the reply's payload."""

    def __init__(self, endpoint: EchoEndpoint, name: str, *, on_message: Observer | None = None) -> None:
        self.endpoint, self.name, self.on_message = endpoint, name, on_message
        endpoint.on_message = self._unsolicited
        endpoint.on_error_report = self._error_report

    @classmethod
    async def connect(
        cls,
        uri: str,
        name: str | None = None,
        *,
        on_message: Observer | None = None,
        echo_timeout: float = DEFAULT_ECHO_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> RemoteRig:
        """Open a sending endpoint to the rig at `uri` (hostnames resolved, default udp port 11001)."""
        name = name or uri
        endpoint = await EchoEndpoint.connect(uri, name=name, echo_timeout=echo_timeout, attempts=attempts)
        return cls(endpoint, name, on_message=on_message)

    @property
    def uri(self) -> str:
        return self.endpoint.endpoint.uri

    @property
    def is_connected(self) -> bool:
        return self.endpoint.is_connected

    async def request(self, code: int, *payload: Any, timeout: float | None = DEFAULT_TIMEOUT) -> list[Any]:
        """Send `[code, *payload]` and return the payload of the rig's reply (same code)."""
        peer = self.endpoint.endpoint.addr
        self._report("sent", "request", code, [plain(p) for p in payload])
        sent = time.perf_counter()
        try:
            reply = await self.endpoint.request(code, *payload, timeout=timeout)
        except RemoteError as exc:
            self._report("received", "error", code, [exc.text, code])
            raise RemoteError(self.name, exc.code, exc.text) from None
        self._report("received", "reply", code, reply.payload, time.perf_counter() - sent)
        log.debug("[%s] %s reply from %s:%d: %s", self.name, reply.name, *peer, reply.payload)
        return reply.payload

    # iblutil's Service signatures, each awaiting the reply
    async def init(self, data: Any = None, *, timeout: float | None = DEFAULT_TIMEOUT) -> list[Any]:
        return await self.request(M.EXPINIT, data, timeout=timeout)

    async def start(self, exp_ref: str, data: Any = None, *, timeout: float | None = DEFAULT_TIMEOUT) -> list[Any]:
        return await self.request(M.EXPSTART, exp_ref or None, data, timeout=timeout)

    async def stop(self, data: Any = None, immediately: bool = False, *, timeout: float | None = DEFAULT_TIMEOUT) -> list[Any]:
        return await self.request(M.EXPINTERRUPT if immediately else M.EXPEND, data, timeout=timeout)

    async def cleanup(self, data: Any = None, *, timeout: float | None = DEFAULT_TIMEOUT) -> list[Any]:
        return await self.request(M.EXPCLEANUP, data, timeout=timeout)

    async def status(self, status: int, *, timeout: float | None = DEFAULT_TIMEOUT) -> list[Any]:
        return await self.request(M.EXPSTATUS, ExpStatus(status), timeout=timeout)

    async def info(self, status: int, data: Any = None, *, timeout: float | None = DEFAULT_TIMEOUT) -> list[Any]:
        return await self.request(M.EXPINFO, ExpStatus(status), data, timeout=timeout)

    def close(self) -> None:
        self.endpoint.close()

    def _unsolicited(self, message: Message, addr: tuple[str, int]) -> None:
        # a late or duplicated reply (its request already answered or given up), or a peer's own request
        log.info("[%s] %s from %s:%d with no request waiting: %s", self.name, message.name, *addr, message.payload)
        self._report("received", "reply", message.code, message.payload)

    def _error_report(self, report: ErrorReport) -> None:
        self._report("received", "error", report.code or 0, report.message.payload)

    def _report(self, direction: str, kind: str, code: int, payload: list, elapsed: float | None = None) -> None:
        if self.on_message is not None:
            event = MessageEvent(self.name, direction, kind, self.endpoint.endpoint.addr, code, payload, elapsed, self.name)
            notify(self.on_message, event)


class Services(Mapping[str, RemoteRig]):
    """A group of remote rigs driven together, like iblutil's `Services`.

    Init, start, info and status go in insertion order, stop and cleanup in reverse order;
    `concurrent=False` waits for each rig's reply before the next. Every method returns
    `{name: reply payload}` and raises `ServicesError` (`ServicesTimeout` when every failure was a
    timeout) naming the rigs that failed, after all the others have answered.
    """

    def __init__(self, rigs: Iterable[RemoteRig], timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self._rigs = {rig.name: rig for rig in rigs}
        self.timeout = timeout

    @classmethod
    async def connect(cls, uris: Mapping[str, str], *, timeout: float | None = DEFAULT_TIMEOUT,
                      on_message: Observer | None = None, **options: Any) -> Services:
        """Connect to every rig of a `name: URI` map (a remote_rigs.yaml)."""
        rigs = []
        try:
            for name, uri in uris.items():
                rigs.append(await RemoteRig.connect(uri, name, on_message=on_message, **options))
        except BaseException:
            for rig in rigs:
                rig.close()
            raise
        return cls(rigs, timeout=timeout)

    def __getitem__(self, name: str) -> RemoteRig:
        return self._rigs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rigs)

    def __len__(self) -> int:
        return len(self._rigs)

    @property
    def is_connected(self) -> bool:
        return bool(self._rigs) and all(rig.is_connected for rig in self._rigs.values())

    def close(self) -> None:
        for rig in self._rigs.values():
            rig.close()

    async def init(self, data: Any = None, concurrent: bool = True) -> dict[str, list]:
        return await self._signal("init", (data,), concurrent=concurrent)

    async def start(self, exp_ref: str, data: Any = None, concurrent: bool = True) -> dict[str, list]:
        return await self._signal("start", (exp_ref, data), concurrent=concurrent)

    async def stop(self, data: Any = None, immediately: bool = False, concurrent: bool = True) -> dict[str, list]:
        return await self._signal("stop", (data, immediately), concurrent=concurrent, reverse=True)

    async def cleanup(self, data: Any = None, concurrent: bool = True) -> dict[str, list]:
        return await self._signal("cleanup", (data,), concurrent=concurrent, reverse=True)

    async def status(self, status: int, concurrent: bool = True) -> dict[str, list]:
        return await self._signal("status", (status,), concurrent=concurrent)

    async def info(self, status: int, data: Any = None, concurrent: bool = True) -> dict[str, list]:
        return await self._signal("info", (status, data), concurrent=concurrent)

    async def _signal(self, method: str, args: tuple, *, concurrent: bool, reverse: bool = False) -> dict[str, list]:
        rigs = list(self._rigs.values())
        if reverse:
            rigs.reverse()
        calls = [partial(getattr(rig, method), *args, timeout=self.timeout) for rig in rigs]
        if concurrent:
            # tasks run their first step (encode and send) in creation order: sends keep the group's order
            outcomes = await asyncio.gather(*(call() for call in calls), return_exceptions=True)
        else:
            outcomes = [await _outcome(call()) for call in calls]
        return self._collect(method, rigs, outcomes)

    def _collect(self, method: str, rigs: list[RemoteRig], outcomes: list) -> dict[str, list]:
        responses, failures = {}, {}
        for rig, outcome in zip(rigs, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, (EchoError, OSError)):
                    raise outcome  # cancellation and programming errors are not a rig's failure
                failures[rig.name] = outcome
            else:
                responses[rig.name] = outcome
        if failures:
            error = ServicesTimeout if all(isinstance(e, TimeoutError) for e in failures.values()) else ServicesError
            raise error(method, failures, responses)
        return responses


async def _outcome(call: Any) -> Any:
    try:
        return await call
    except (EchoError, OSError) as exc:
        return exc
