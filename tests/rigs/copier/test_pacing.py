"""A copy held to a bandwidth cap waits when it is ahead of it, and a cancel cuts the wait short."""

from __future__ import annotations

import threading
import time

from rigs.copier.pacing import PacedProgress, RatePacer
from rigs.copier.progress import ProgressTracker


def test_bytes_ahead_of_the_cap_wait_until_the_cap_allows_them():
    pacer = RatePacer(max_rate=1_000_000, cancel=threading.Event())
    tracker = ProgressTracker(None, exp_ref="2024-01-01_1_m", bytes_total=500_000, files_total=1)
    paced = PacedProgress(tracker, pacer)
    began = time.monotonic()
    paced.file_started("a.bin")
    paced.add_bytes(500_000)  # half a second's worth at 1 MB/s
    paced.file_done("a.bin")
    assert time.monotonic() - began >= 0.45  # a lower bound: the cap may be kept, never beaten
    assert (tracker.bytes_done, tracker.files_done) == (500_000, 1)


def test_a_cancel_cuts_the_wait_short():
    cancel = threading.Event()
    pacer = RatePacer(max_rate=1.0, cancel=cancel)  # a byte a second: 10 MB would take months
    waiter = threading.Thread(target=pacer.pace, args=(10_000_000,))
    waiter.start()
    cancel.set()
    waiter.join(timeout=10)
    assert not waiter.is_alive()
