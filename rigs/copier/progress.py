"""Transfer progress: counters shared by the copy threads, reported to a callback a few times a second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Progress:
    """One progress report; `to_dict()` is what the agent puts in its status messages."""

    exp_ref: str
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    rate: float  # bytes per second since the copy started
    eta: float | None  # seconds, None until a rate is known
    current_file: str  # relative path of the file being copied ('' between files)
    finished: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


ProgressCallback = Callable[[Progress], None]


class ProgressTracker:
    """Thread-safe counters; calls `callback` at most every `interval` seconds, and once at the end."""

    def __init__(
        self,
        callback: ProgressCallback | None,
        *,
        exp_ref: str,
        bytes_total: int,
        files_total: int,
        interval: float = 0.25,
    ) -> None:
        self.callback = callback
        self.exp_ref = exp_ref
        self.bytes_total = bytes_total
        self.files_total = files_total
        self.interval = interval
        self.bytes_done = 0
        self.files_done = 0
        self.current_file = ""
        self._start = time.monotonic()
        self._last_report = 0.0
        self._lock = threading.Lock()

    def file_started(self, rel: str) -> None:
        with self._lock:
            self.current_file = rel
        self._maybe_report()

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes_done += count
        self._maybe_report()

    def file_done(self, rel: str) -> None:
        with self._lock:
            self.files_done += 1
            if self.current_file == rel:
                self.current_file = ""
        self._maybe_report()

    def finish(self) -> Progress:
        report = self.snapshot(finished=True)
        if self.callback:
            self.callback(report)
        return report

    def snapshot(self, finished: bool = False) -> Progress:
        with self._lock:
            elapsed = max(time.monotonic() - self._start, 1e-9)
            rate = self.bytes_done / elapsed
            remaining = max(self.bytes_total - self.bytes_done, 0)
            eta = remaining / rate if rate > 0 else None
            return Progress(
                exp_ref=self.exp_ref,
                bytes_done=self.bytes_done,
                bytes_total=self.bytes_total,
                files_done=self.files_done,
                files_total=self.files_total,
                rate=rate,
                eta=0.0 if finished else eta,
                current_file=self.current_file,
                finished=finished,
            )

    def _maybe_report(self) -> None:
        if not self.callback:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._last_report < self.interval:
                return
            self._last_report = now
        self.callback(self.snapshot())
