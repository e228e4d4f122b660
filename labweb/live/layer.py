"""What the channel layer loses of this process's own sends, counted (it never says so itself, DESIGN 5).

Both layers Channels offers drop a message for a channel that is full, without an error: the in-memory layer
swallows ChannelFull in group_send, and channels_redis' group_send only logs "N of M channels over capacity in
group G" at INFO. The counts here come from that: the in-memory fan-out is done here (so a full queue is seen),
and a filter counts channels_redis' log record (its group_send has no other way to tell). A group_send that raises (Redis down) is
counted too. Exposed as Prometheus metrics (labweb.metrics) per process, and logged as one warning a minute at most.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from channels import layers

log = logging.getLogger(__name__)

REDIS_LOGGER = "channels_redis.core"
REDIS_OVER_CAPACITY = "%s of %s channels over capacity in group %s"

# group kind ("dashboard", "agent") -> channels a message of ours did not reach because they were full
dropped: Counter[str] = Counter()
# group kind -> group_send calls that raised
failed: Counter[str] = Counter()


def group_kind(group: str) -> str:
    """The label a group's counts go under: frames for browsers (the processes' relay group, or the browsers'
    own), or one of the per-rig agent groups."""
    return "dashboard" if group in ("dashboard", "relay") else "agent" if group.startswith("agent") else "other"


WARN_EVERY_SECONDS = 60.0
_warned = {"at": 0.0, "dropped": 0}


class _OverCapacity(logging.Filter):
    """Counts channels_redis' over-capacity records; they are logged as one warning a minute instead (below)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == REDIS_OVER_CAPACITY and isinstance(record.args, tuple) and len(record.args) == 3:
            over, _, group = record.args
            dropped[group_kind(str(group))] += int(over)
            return False
        return True


_filter = _OverCapacity()


def counting_install() -> None:
    """Hook the counting filter onto channels_redis' logger (once), and let its INFO records be made."""
    logger = logging.getLogger(REDIS_LOGGER)
    if _filter not in logger.filters:
        logger.addFilter(_filter)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)


async def group_send_counted(layer: Any, group: str, message: dict) -> bool:
    """layer.group_send, with what it drops or fails counted; False when it raised (logged, not re-raised)."""
    counting_install()
    try:
        if isinstance(layer, layers.InMemoryChannelLayer):
            _in_memory_group_send(layer, group, message)
        else:
            await layer.group_send(group, message)
    except Exception:
        failed[group_kind(group)] += 1
        log.exception("could not send to channel-layer group %s", group)
        return False
    finally:
        _warn_of_drops()
    return True


async def membership_kept(layer: Any, group: str, channel: str) -> None:
    """Add the channel to the group again every quarter of the layer's group expiry, for as long as this runs.

    Both layers forget a group's member once it was added longer ago than group_expiry (a day by default). Daphne
    closes every websocket after a day too (--websocket_timeout), so with both defaults a link is rarely left in
    that gap; but the in-memory layer counts the day in whole seconds and daphne checks every few, and a deployment
    that keeps sockets open longer had rigs that got no command and browsers that got no frame, silently."""
    while True:
        await asyncio.sleep(layer.group_expiry / 4)
        try:
            await layer.group_add(group, channel)
        except Exception:  # Redis away for a moment: the next try is a quarter of the expiry later
            log.exception("could not renew %s's place in channel-layer group %s", channel, group)


def _in_memory_group_send(layer: layers.InMemoryChannelLayer, group: str, message: dict) -> None:
    """The in-memory layer's group_send, done here: it swallows ChannelFull (and spawns a task per channel)."""
    layer._clean_expired()
    for channel in list(layer.groups.get(group, ())):
        queue = _queue_of(layer, channel)
        try:  # what InMemoryChannelLayer.send does, without its checks of names we made ourselves
            queue.put_nowait((time.time() + layer.expiry, dict(message)))  # our values are immutable (text)
        except asyncio.QueueFull:
            dropped[group_kind(group)] += 1


def _queue_of(layer: layers.InMemoryChannelLayer, channel: str) -> asyncio.Queue:
    """The channel's queue, built only when it has none (Channels' setdefault built one to throw away each call)."""
    queue = layer.channels.get(channel)
    if queue is None:
        queue = layer.channels[channel] = asyncio.Queue(maxsize=layer.get_capacity(channel))
    return queue


def _warn_of_drops() -> None:
    total = sum(dropped.values())
    now = time.monotonic()
    if total > _warned["dropped"] and now - _warned["at"] >= WARN_EVERY_SECONDS:
        log.warning("the channel layer dropped %d messages of this process to full channels since the last warning "
                    "(browsers resync; see labweb_process_layer_dropped)", total - _warned["dropped"])
        _warned.update(at=now, dropped=total)


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    """Channels' in-memory layer (one process), whose sweep for expired messages walks every channel and group on
    every receive: with a thousand agents, each relayed frame made twenty such walks. Here it runs once a second
    at most (messages expire after 60 s; a second later is no matter). Its receive also built a queue it threw
    away on every call (setdefault's default); here a queue is built only for a channel that has none."""

    CLEAN_EVERY_SECONDS = 1.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at >= self.CLEAN_EVERY_SECONDS:
            self._cleaned_at = now
            super()._clean_expired()

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = _queue_of(self, channel)
        try:
            _, message = await queue.get()
        finally:
            if queue.empty():
                self.channels.pop(channel, None)
        return message
