"""Sliding-window rates (frames/s, bytes/s) from cumulative counters sampled by the writer thread."""

from __future__ import annotations

import threading
from collections import deque


class RateMeter:
    """Keeps (time, counters...) samples for `window` seconds; rates() compares the newest with the oldest."""

    def __init__(self, names: tuple[str, ...], window: float = 2.0, min_span: float = 0.25):
        self.names = names
        self.window = window
        self.min_span = min_span  # shorter spans give wild figures right after the start
        self._samples: deque[tuple[float, tuple[float, ...]]] = deque()
        self._lock = threading.Lock()

    def add(self, t: float, *values: float) -> None:
        with self._lock:
            self._samples.append((t, values))
            while len(self._samples) > 2 and t - self._samples[1][0] >= self.window:
                self._samples.popleft()

    def rates(self) -> dict[str, float]:
        with self._lock:
            if len(self._samples) < 2:
                return {name: 0.0 for name in self.names}
            (t0, first), (t1, last) = self._samples[0], self._samples[-1]
        span = t1 - t0
        if span < self.min_span:
            return {name: 0.0 for name in self.names}
        return {name: (b - a) / span for name, a, b in zip(self.names, first, last, strict=True)}
