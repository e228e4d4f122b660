"""Holding a copy to a bandwidth cap (transfer.max_rate_mb_s), so a copy leaves the lab's network room."""

from __future__ import annotations

import threading
import time

from rigs.copier.progress import ProgressTracker


class RatePacer:
    """Holds a copy to `max_rate` bytes/s: a copy thread that counts bytes beyond the budget waits (the cancel
    event cuts a wait short)."""

    def __init__(self, max_rate: float, cancel: threading.Event) -> None:
        self.max_rate = max_rate
        self.cancel = cancel
        self.start = time.monotonic()

    def pace(self, bytes_done: int) -> None:
        while not self.cancel.is_set():
            ahead = bytes_done / self.max_rate - (time.monotonic() - self.start)
            if ahead <= 0:
                return
            self.cancel.wait(min(ahead, 1.0))


class PacedProgress:
    """A progress tracker that makes the copy thread that counted bytes wait when it is ahead of the cap."""

    def __init__(self, tracker: ProgressTracker, pacer: RatePacer) -> None:
        self.tracker, self.pacer = tracker, pacer

    def file_started(self, rel: str) -> None:
        self.tracker.file_started(rel)

    def add_bytes(self, count: int) -> None:
        self.tracker.add_bytes(count)
        self.pacer.pace(self.tracker.bytes_done)

    def file_done(self, rel: str) -> None:
        self.tracker.file_done(rel)
