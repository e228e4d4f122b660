"""Frames reach a process's browsers through one member of the channel layer per process, not one per browser.

Each process's ticker publishes its frame to the relay group, whose members are the processes (one channel each),
and each process hands the frames it receives to its own browsers in memory. channels_redis already stores one
copy per process, but then hands it to every browser's channel through its own buffers and receive loop; here it
is one receive per frame per process (about 10% less CPU per status with two processes, docs/scaling.md). And the
process renews its membership (REJOIN_SECONDS), so no browser's frames hang on a membership that expires (see
labweb.live.layer.membership_kept). On the in-memory layer (one process) the relay group has one member.

A browser's frames wait in a queue of its own, read by its consumer like any other source (one handler at a time,
labweb.live.consumers.DirectDispatch); a browser so far behind that its queue is full loses the frame, counted
as the channel layer's drops are, and resynchronises on the seq gap as it would after any drop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any, Protocol

from channels.layers import get_channel_layer

from .layer import dropped
from .loops import per_loop

log = logging.getLogger(__name__)

RELAY_GROUP = "relay"
# A browser's frames not yet sent; a browser this far behind is already being held back (relay_frame), so this
# only bounds what an event loop too busy to run its consumer lets pile up. 100 frames: 5 s of one process's ticks.
BROWSER_QUEUE_FRAMES = 100
# Each process renews its place in the relay group this often, and drops the places not renewed for
# SILENT_SECONDS: a process killed (or restarted) is sent frames for that long at most, where channels' own group
# expiry would go on for a day, and every frame to its full channel would count as a drop. 20 s is before its
# channel (1000 messages) fills with two processes' frames (40/s); with more processes it fills sooner, and the
# frames sent to it in the remaining seconds count as dropped. The margin also covers clocks (the scores are each
# process's time.time()) a few seconds apart.
REJOIN_SECONDS = 5.0
SILENT_SECONDS = 20.0
RETRY_SECONDS = 1.0  # after the channel layer failed a read


class Browser(Protocol):
    frames: asyncio.Queue


class Fanout:
    """This process's member of the relay group, and the browsers it hands each frame to."""

    def __init__(self) -> None:
        self.browsers: weakref.WeakSet[Browser] = weakref.WeakSet()
        self.channel: str | None = None
        self._tasks: list[asyncio.Task] = []
        # Browsers connect together (after a restart, all at once): one of them starts the relay, on one channel.
        self._starting = asyncio.Lock()

    async def join(self, browser: Browser) -> None:
        """From now on the browser gets every frame of every process; the relay starts with the first browser."""
        self.browsers.add(browser)
        async with self._starting:
            if not self._tasks or any(task.done() for task in self._tasks):
                await self._start()

    def leave(self, browser: Browser) -> None:
        self.browsers.discard(browser)

    async def _start(self) -> None:
        for task in self._tasks:
            task.cancel()
        layer = get_channel_layer()
        if self.channel is None:
            self.channel = await layer.new_channel()
        await layer.group_add(RELAY_GROUP, self.channel)
        self._tasks = [asyncio.ensure_future(self._relay(layer)), asyncio.ensure_future(self._rejoin(layer))]

    async def _relay(self, layer: Any) -> None:
        while True:
            try:
                message = await layer.receive(self.channel)
            except Exception:  # Redis gone for a moment: the browsers' sockets stay up, and resync on the seq gap
                log.exception("the relay could not read from the channel layer; trying again in %g s", RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if message.get("type") == "relay.frame":
                self.deliver(message)

    def deliver(self, message: dict) -> None:
        for browser in list(self.browsers):
            try:
                browser.frames.put_nowait(message)
            except asyncio.QueueFull:
                dropped["dashboard"] += 1

    async def _rejoin(self, layer: Any) -> None:
        while True:
            await asyncio.sleep(REJOIN_SECONDS)
            try:
                await layer.group_add(RELAY_GROUP, self.channel)
                await _forget_silent_processes(layer)
            except Exception:  # Redis away for a moment: the next try is in REJOIN_SECONDS
                log.exception("could not renew this process's place in the relay group")


async def _forget_silent_processes(layer: Any) -> None:
    """Drop the relay group's members not renewed for SILENT_SECONDS (processes that are gone). Both layers keep a
    member with the time it was added, and prune a group by it (after their group_expiry); this is the same pruning
    with this group's own bound. In-memory, the members gone are those of event loops that ended (a test run's)."""
    cutoff = time.time() - SILENT_SECONDS
    groups = getattr(layer, "groups", None)
    if isinstance(groups, dict):
        members = groups.get(RELAY_GROUP, {})
        for channel, added in list(members.items()):
            if added < cutoff:
                del members[channel]
    elif hasattr(layer, "_group_key") and hasattr(layer, "connection"):
        connection = layer.connection(layer.consistent_hash(RELAY_GROUP))
        await connection.zremrangebyscore(layer._group_key(RELAY_GROUP), min=0, max=cutoff)


get_fanout = per_loop(Fanout)  # one per daphne process; tests get a fresh one per event loop
