"""The rig's durable event stream: every part records what happened here; the link delivers it to the dashboard.

Events go to the on-disk outbox first (they survive a dashboard restart, a network cut, an agent restart), then
the link is told there is something new. Parts call `emit` from the event loop or from their own threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from rigs.outbox import EventOutbox

log = logging.getLogger(__name__)


class EventStream:
    """Append events to the outbox (on the loop's thread) and wake whoever delivers them."""

    def __init__(self, outbox: EventOutbox) -> None:
        self.outbox = outbox
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: Callable[[], None] | None = None

    def bind(self, loop: asyncio.AbstractEventLoop, listener: Callable[[], None] | None) -> None:
        """From now on, appends happen on `loop`'s thread and `listener()` hears of each."""
        self._loop, self._listener = loop, listener

    def emit(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Record a durable event; safe to call from any thread."""
        loop = self._loop
        if loop is not None and _other_thread(loop):
            loop.call_soon_threadsafe(self.append, name, data)
        else:
            self.append(name, data)

    def append(self, name: str, data: dict[str, Any] | None) -> None:
        event = self.outbox.append(name, data)
        log.debug("event %d %s %s", event["seq"], name, data or "")
        if self._listener is not None:
            self._listener()


def _other_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is not loop
    except RuntimeError:
        return True
