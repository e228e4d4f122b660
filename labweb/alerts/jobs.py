"""The dashboard process's periodic jobs for alerts and history, started by the live board (board.ensure_running).

With several dashboard processes, each job either has one owner or is safe to run everywhere (docs/scaling.md):

- Checking the rules (and pruning old history, hourly) runs in one process at a time: the holder of the
  `alerts` lease row (labweb.alerts.lease). Other processes try to take it on each run and stand by.
- Sending notifications runs in every process: each due notification is claimed by a conditional update
  first, so two processes never send one twice; sends run in a thread pool of their own, so a slow or dead
  destination never holds up the event loop, the database thread or the other destinations.
- Sampling the history runs in every process over the rigs whose agents it holds (labweb.history.sampler);
  a row written twice for one interval (a rig moving between processes) is absorbed by the unique (rig, t) index.
- Elsewhere: the "offline" sweep has one owner (the `sweep` lease, labweb.live.sweep); the 50 ms relay ticker
  runs in every process over its own agents only, each frame under the process's own origin and seq, so two
  tickers never send the same change; expiring unanswered commands runs everywhere and is a conditional
  update (a command expires once).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async
from django.conf import settings

from labweb.history.sampler import sampler_run
from labweb.history.services import history_prune

from .lease import lease_take
from .notify import Message, SendError, message_for, send
from .services import alerts_evaluate, deliveries_claim, delivery_record

log = logging.getLogger(__name__)

LEASE = "alerts"
LEASE_SECONDS = 10.0  # at least; three checks at most: a killed holder is replaced within this
PRUNE_SECONDS = 3600.0
SEND_POLL_SECONDS = 5.0  # retries fall due by themselves; new notifications wake the sender at once
SEND_TIMEOUT_SECONDS = 60.0
SENDERS = 4  # notifications in flight at once


class Jobs:
    """This event loop's jobs; one set per daphne process (tests get one per loop)."""

    def __init__(self) -> None:
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tasks: list[asyncio.Task] = []
        self.executor = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="labweb-notify")
        self.in_flight: set[asyncio.Task] = set()
        self.holds_lease = False
        self.wake = asyncio.Event()  # set by a check that opened or resolved alerts: their notifications are due

    def ensure(self, board) -> None:
        if self.tasks and not any(task.done() for task in self.tasks):
            return
        for task in self.tasks:
            task.cancel()
        self.tasks = [
            asyncio.ensure_future(self._check_loop()),
            asyncio.ensure_future(self._send_loop()),
            asyncio.ensure_future(sampler_run(board)),
        ]

    async def _check_loop(self) -> None:
        take = database_sync_to_async(lease_take)
        evaluate = database_sync_to_async(alerts_evaluate)
        last_prune = 0.0
        while True:
            await asyncio.sleep(settings.LABWEB_ALERT_CHECK_SECONDS)
            try:
                held = await take(name=LEASE, owner=self.owner, seconds=max(LEASE_SECONDS, 3 * settings.LABWEB_ALERT_CHECK_SECONDS))
                if held != self.holds_lease:
                    log.info("alerts: this process %s the rule checks", "now runs" if held else "no longer runs")
                    self.holds_lease = held
                if not held:
                    continue
                changes = await evaluate()
                if changes.opened or changes.resolved:
                    self.wake.set()
                if time.monotonic() - last_prune >= PRUNE_SECONDS:
                    last_prune = time.monotonic()
                    await database_sync_to_async(history_prune)()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alert check failed; trying again at the next one")

    async def _send_loop(self) -> None:
        claim = database_sync_to_async(_claim_messages)
        while True:
            free = SENDERS - len(self.in_flight)
            try:
                for delivery_id, message in (await claim(free) if free > 0 else []):
                    task = asyncio.ensure_future(self._send_one(delivery_id, message))
                    self.in_flight.add(task)
                    task.add_done_callback(self.in_flight.discard)
                    task.add_done_callback(lambda _: self.wake.set())  # a free sender: look for more at once
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not look for notifications to send")
            try:
                await asyncio.wait_for(self.wake.wait(), SEND_POLL_SECONDS)
            except TimeoutError:
                pass
            self.wake.clear()

    async def _send_one(self, delivery_id: int, message: Message) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(self.executor, send, message), SEND_TIMEOUT_SECONDS)
            error = None
        except SendError as exc:
            error = str(exc)
        except TimeoutError:
            error = f"no answer within {SEND_TIMEOUT_SECONDS:.0f} s"
        except Exception as exc:  # noqa: BLE001 - whatever broke, the try is recorded and retried
            error = f"{type(exc).__name__}: {exc}"
        try:
            await database_sync_to_async(delivery_record)(delivery_id=delivery_id, error=error)
        except Exception:  # noqa: BLE001 - its claim expires and it is tried again
            log.exception("could not record notification %s", delivery_id)


def _claim_messages(limit: int) -> list[tuple[int, Message]]:
    return [(d.pk, message_for(d)) for d in deliveries_claim(limit=limit)]


_jobs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Jobs] = weakref.WeakKeyDictionary()


def jobs_ensure(board) -> None:
    """Start this process's jobs unless they run already (cheap: called on every agent hello and browser)."""
    if not settings.LABWEB_PERIODIC_JOBS:
        return
    loop = asyncio.get_running_loop()
    jobs = _jobs.get(loop)
    if jobs is None:
        jobs = _jobs[loop] = Jobs()
    jobs.ensure(board)

