"""What the echo communicator tells its observer: one `MessageEvent` per lifecycle message sent or received,
and `RecordLimiter`, which keeps what an observer records of them bounded whatever a peer sends."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from rigs.echo.codes import code_name

log = logging.getLogger(__name__)

Direction = Literal["received", "sent"]
# request: a lifecycle message asking for an answer; reply: the answer (same code);
# error: an error report `[0, "Type: message", code]` (`code` is then the failed message's code).
Kind = Literal["request", "reply", "error"]


@dataclass(frozen=True)
class MessageEvent:
    """One lifecycle message as seen by `rig` (this side), exchanged with `peer`.

    `elapsed` is set on replies: on a listening rig, the seconds from the request's arrival to
    the reply going out (how long the rig took to answer); on the main, the seconds from the
    request going out to the reply coming back.
    """

    rig: str
    direction: Direction
    kind: Kind
    peer: tuple[str, int]
    code: int
    payload: list[Any]
    elapsed: float | None = None
    peer_name: str | None = None
    at: float = field(default_factory=time.time)

    @property
    def name(self) -> str:
        """The code's name, e.g. `EXPSTART`."""
        return code_name(self.code)


Observer = Callable[[MessageEvent], None | Awaitable[None]]


def notify(observer: Observer | None, event: MessageEvent) -> None:
    """Call the observer; a failing observer is logged and never breaks the protocol."""
    if observer is None:
        return
    try:
        result = observer(event)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            task.add_done_callback(_log_failure)
    except Exception:
        log.exception("on_message observer failed on %s %s", event.direction, event.name)


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("on_message observer failed: %r", task.exception())


class RecordLimiter:
    """Decides which echo messages become durable records, so that echo traffic never becomes one event per
    datagram: each peer gets a burst of `burst` records and then `rate` per second; what is held back is
    counted and reported as one summary per peer at most every `report_every` seconds.

    A real session is a few dozen messages per rig over minutes, far under the defaults. Call `admit(event)`
    for every `MessageEvent`; record it only when it returns True. `report(peer, summary)` receives the
    summaries (e.g. emit an `echo.suppressed` event); `flush()` reports what is still held back (at close).
    """

    def __init__(self, report: Callable[[str, dict[str, Any]], None], *, rate: float = 2.0, burst: int = 60,
                 report_every: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_peers: int = 1024) -> None:
        self._report, self.rate, self.burst, self.report_every = report, rate, burst, report_every
        self._clock = clock
        self._max_peers = max_peers
        self._buckets: dict[str, list[float]] = {}  # peer -> [tokens, last refill]
        self._held: dict[str, dict[str, Any]] = {}  # peer -> summary of what was held back
        self._reported: dict[str, float] = {}
        self.suppressed = 0

    def admit(self, event: MessageEvent) -> bool:
        peer = f"{event.peer[0]}:{event.peer[1]}"
        now = self._clock()
        bucket = self._buckets.get(event.peer[0])
        if bucket is None:
            if len(self._buckets) >= self._max_peers:  # a flood of source addresses must not grow memory
                self._buckets.clear()
            bucket = self._buckets[event.peer[0]] = [float(self.burst), now]
        bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            self._report_due(now)
            return True
        self.suppressed += 1
        held = self._held.setdefault(peer, {"peer": peer, "count": 0, "messages": {}, "first": event.at})
        held["count"] += 1
        held["messages"][event.name] = held["messages"].get(event.name, 0) + 1
        held["last"] = event.at
        self._report_due(now)
        return False

    def _report_due(self, now: float) -> None:
        for peer in list(self._held):
            if now - self._reported.get(peer, float("-inf")) >= self.report_every:
                self._reported[peer] = now
                self._send(peer)
        if len(self._reported) > self._max_peers:
            self._reported.clear()

    def _send(self, peer: str) -> None:
        summary = self._held.pop(peer)
        try:
            self._report(peer, summary)
        except Exception:
            log.exception("reporting suppressed echo messages from %s failed", peer)

    def flush(self) -> None:
        for peer in list(self._held):
            self._send(peer)
