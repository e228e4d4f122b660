"""Series-end hooks in the spirit of labmate's backends: actions that run in the background on a closed series.

A hook is any callable taking the SeriesResult and returning a one-line detail (or None); raising means it
failed. Each outcome is reported through a callback, so the agent turns it into a durable event.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from rigs.spool.diskio import fsync_path
from rigs.spool.result import SeriesResult


class SeriesHook(Protocol):
    name: str

    def __call__(self, result: SeriesResult) -> str | None: ...


@dataclass(frozen=True)
class HookOutcome:
    hook: str
    file: str
    ok: bool
    detail: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class HookRunner:
    """Runs the hooks of each closed series in order, in a background thread per series."""

    def __init__(self, on_outcome: Callable[[HookOutcome], None] | None = None):
        self._on_outcome = on_outcome
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.outcomes: list[HookOutcome] = []

    def submit(self, hooks: Iterable[SeriesHook], result: SeriesResult) -> None:
        hooks = list(hooks)
        if not hooks:
            return
        thread = threading.Thread(target=self._run, args=(hooks, result), name="spool-hooks", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """True when every submitted hook has finished within `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def _run(self, hooks: list[SeriesHook], result: SeriesResult) -> None:
        for hook in hooks:
            name = getattr(hook, "name", type(hook).__name__)
            t0 = time.monotonic()
            try:
                outcome = HookOutcome(name, str(result.path), True, hook(result) or "done", 0.0)
            except Exception as exc:  # a hook's failure is reported, never raised into the spooler
                outcome = HookOutcome(name, str(result.path), False, f"{type(exc).__name__}: {exc}", 0.0)
            outcome = HookOutcome(outcome.hook, outcome.file, outcome.ok, outcome.detail,
                                  round(time.monotonic() - t0, 3))
            with self._lock:
                self.outcomes.append(outcome)
            if self._on_outcome is not None:
                self._on_outcome(outcome)


class MirrorToFolder:
    """Copy each complete series file into another folder: temporary name, fsync, rename, verify by hash.

    An existing file of the same name is never overwritten (the copy fails instead).
    """

    name = "mirror"

    def __init__(self, destination: str | Path, *, only_complete: bool = True):
        self.destination = Path(destination)
        self.only_complete = only_complete

    def __call__(self, result: SeriesResult) -> str:
        if self.only_complete and not result.complete:
            raise RuntimeError(f"{result.path.name} is not complete; not mirrored")
        self.destination.mkdir(parents=True, exist_ok=True)
        final = self.destination / result.path.name
        if final.exists():
            raise FileExistsError(f"{final} exists; not overwritten")
        partial = final.with_name(final.name + ".part")
        digest = _copy_hashing(result.path, partial)
        fsync_path(partial)
        if final.exists():  # appeared while we copied: keep theirs, drop ours
            partial.unlink()
            raise FileExistsError(f"{final} appeared during the copy; not overwritten")
        os.replace(partial, final)
        if _sha256(final) != digest:
            final.unlink()
            raise OSError(f"{final} does not match {result.path} after copy; removed")
        return f"copied {final.stat().st_size} bytes to {final} (sha256 {digest[:12]})"


def _copy_hashing(source: Path, dest: Path, block: int = 8 << 20) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as src, dest.open("xb") as dst:
        while data := src.read(block):
            digest.update(data)
            dst.write(data)
    return digest.hexdigest()


def _sha256(path: Path, block: int = 8 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while data := f.read(block):
            digest.update(data)
    return digest.hexdigest()

