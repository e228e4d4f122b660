"""What the echo communicator tells its observer: one `MessageEvent` per lifecycle message sent or received."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Literal

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
