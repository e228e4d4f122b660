"""How far a rig's clock is from the dashboard's, measured so that the dashboard's own delays do not count.

Each status carries the rig's clock (`time`); the dashboard notes its own when the status is read. Their difference
is the clock offset plus every delay on the way: the network's, and the dashboard's when it is busy (a thousand
agents reconnecting after a restart delay the first statuses by seconds). Delays only ever add, so the smallest
difference seen is the best measure of the offset (NTP's rule). Taken over a sliding minute, an overloaded minute
does not make a clock look wrong (it made a clock-skew alert for a quarter of the rigs after each restart), and a
clock that really jumps is seen within a minute.
"""

from __future__ import annotations

WINDOW_SECONDS = 30.0  # two windows make the minute: the best of this one and of the one before


class ClockOffset:
    """The smallest (dashboard time - rig time) of the last one to two windows; positive: the rig is behind."""

    __slots__ = ("_ends", "_best", "_previous")

    def __init__(self) -> None:
        self._ends = 0.0
        self._best = float("inf")
        self._previous = float("inf")

    def sample(self, now: float, rig_time: float) -> None:
        offset = now - rig_time
        if now >= self._ends:
            self._previous, self._best = self._best, offset
            self._ends = now + WINDOW_SECONDS
        elif offset < self._best:
            self._best = offset

    @property
    def seconds(self) -> float | None:
        best = min(self._best, self._previous)
        return None if best == float("inf") else best
