"""The agent: runs the rig's parts, reports their live state to the dashboard, and carries out its commands.

It keeps working when the dashboard is away: acquisition goes on, and events wait in the on-disk outbox.
The parts (rigs.parts) are built and wired by rigs.agent.assembly; the agent only knows them as `Part`s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from rigs import __version__
from rigs.agent.disk import DiskWatch
from rigs.agent.events import EventStream
from rigs.config import RigConfig
from rigs.link import CommandFailed, DashboardLink
from rigs.messages import rig_state, status_part

log = logging.getLogger(__name__)

Action = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
CLOSE_SECONDS = 10.0


class Part(Protocol):
    """One piece of the rig (spooler, copier, task, session): its status, its actions, its lifetime."""

    key: str  # its part of every status (rigs.messages.STATUS_PARTS)

    def actions(self) -> Mapping[str, Action]: ...

    def status(self) -> Any: ...  # its typed status (rigs.messages), or None before it has anything to say

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class Agent:
    """One rig: its event stream, its link to the dashboard, and its parts."""

    def __init__(self, config: RigConfig, events: EventStream) -> None:
        self.config = config
        self.events = events
        self.parts: list[Part] = []
        self.actions: dict[str, Action] = {}
        self.disk = DiskWatch(config.local_subjects or config.outbox_path.parent, config.outbox_path.parent)
        self.link: DashboardLink | None = None
        self.on_echo_hosts: Callable[[list[str]], None] | None = None
        self._stopping: asyncio.Event | None = None

    def attach(self, parts: Sequence[Part], *, on_echo_hosts: Callable[[list[str]], None] | None = None) -> None:
        """The rig's parts, in the order they start (they close in the reverse order); `on_echo_hosts` hears the
        dashboard's list of the rigs' echo hosts (the session part's allow-list)."""
        self.parts = list(parts)
        self.actions = {name: action for part in self.parts for name, action in part.actions().items()}
        self.on_echo_hosts = on_echo_hosts

    @property
    def outbox(self):
        return self.events.outbox

    def emit(self, name: str, data: dict[str, Any] | None = None) -> None:
        self.events.emit(name, data)

    def preview(self, message: dict[str, Any]) -> None:
        """Offer a camera preview to the dashboard (dropped when the link is down: previews are not durable)."""
        if self.link is not None:
            self.link.preview({"type": "preview", "rig": self.config.name, **message})

    # -- what the dashboard sees ---------------------------------------------------------------------------
    def hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "rig": self.config.name,
            "kind": self.config.kind,
            "tag": self.config.device_tag,
            "version": __version__,
            "hostname": socket.gethostname(),
            "capabilities": sorted(self.actions),
            "disk": status_part(self.disk.last or self.disk.measure()),
            "next_seq": self.outbox.last_seq() + 1,
        }

    def status(self) -> dict[str, Any]:
        """Every part's typed status and the rig's state by the one rule; cheap (it runs a few times a second)."""
        parts: dict[str, Any] = {}
        for part in self.parts:
            try:
                parts[part.key] = part.status()
            except Exception:  # a broken part must not silence the rig's heartbeat
                log.exception("status of part %s failed", part.key)
                parts[part.key] = None
        status = {"type": "status", "rig": self.config.name, "time": time.time(), "state": rig_state(parts)}
        status["disk"] = status_part(self.disk.last)
        status["quarantined"] = self.outbox.quarantined_count()  # events the dashboard refused for good
        status.update((key, status_part(value)) for key, value in parts.items())
        return status

    # -- commands ------------------------------------------------------------------------------------------
    async def on_command(self, command: dict[str, Any]) -> dict[str, Any] | None:
        action = self.actions.get(command["action"])
        if action is None:
            raise CommandFailed(f"rig {self.config.name} cannot do {command['action']} (it has no such part)")
        log.info("command %s from %s: %s", command["action"], command.get("issued_by") or "?", command["params"])
        self.emit("command.received", {"id": command["id"], "action": command["action"],
                                       "issued_by": command.get("issued_by")})
        return await action(command["params"])

    # -- running -------------------------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        install_stop_signals(loop, self.stop)
        tasks = [asyncio.ensure_future(self.disk.watch())]
        if self.config.agent_url and self.config.token:
            self.link = DashboardLink(
                url=self.config.agent_url, token=self.config.token, rig=self.config.name, outbox=self.outbox,
                hello=self.hello, status=self.status, on_command=self.on_command,
                status_interval=self.config.status_interval, on_echo_hosts=self.on_echo_hosts,
            )
            tasks.append(asyncio.ensure_future(self.link.run()))
        else:
            log.warning("no dashboard or token configured: running without a dashboard")
        self.events.bind(loop, self.link.events_added if self.link else None)
        await self._start_parts()
        self.emit("agent.started", {"version": __version__, "pid": os.getpid(), "capabilities": sorted(self.actions)})
        try:
            await self._stopping.wait()
        finally:
            await self._shutdown(tasks)

    async def _start_parts(self) -> None:
        """A part that cannot start (say, its port is taken) is reported; the rest of the rig keeps working."""
        for part in self.parts:
            try:
                await part.start()
            except Exception as exc:
                log.error("could not start the %s part: %s", part.key, exc)
                self.emit("agent.part_failed", {"part": part.key, "error": f"{exc.__class__.__name__}: {exc}"})

    def stop(self) -> None:
        if self._stopping is not None and not self._stopping.is_set():
            log.info("stopping")
            self._stopping.set()

    async def _shutdown(self, tasks: list[asyncio.Task]) -> None:
        for part in reversed(self.parts):
            try:
                await asyncio.wait_for(part.close(), timeout=CLOSE_SECONDS)
            except Exception:
                log.exception("the %s part did not stop cleanly", part.key)
        self.events.append("agent.stopped", {"pid": os.getpid()})
        if self.link is not None and self.link.connected.is_set():
            await self._drain_events(timeout=2.0)
        if self.link is not None:
            await self.link.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.outbox.close()

    async def _drain_events(self, *, timeout: float) -> None:
        """Give the link a moment to deliver the last events; whatever is left goes out after the next start."""
        deadline = time.monotonic() + timeout
        while self.outbox.count() and time.monotonic() < deadline and self.link.connected.is_set():
            await asyncio.sleep(0.05)


def install_stop_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
    """SIGINT and SIGTERM both stop cleanly; Windows has no add_signal_handler, so fall back to signal.signal."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop)
        except (NotImplementedError, RuntimeError):
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop))
