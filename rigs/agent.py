"""The agent process on a rig PC: runs the rig's parts, reports live state, obeys the dashboard's commands.

It keeps working when the dashboard is away: acquisition goes on, and events wait in the on-disk outbox.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rigs import __version__
from rigs.config import RigConfig
from rigs.link import CommandFailed, DashboardLink
from rigs.outbox import EventOutbox

log = logging.getLogger(__name__)

Action = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


class Agent:
    """One rig: its outbox, its link to the dashboard, and the actions it can carry out."""

    def __init__(self, config: RigConfig) -> None:
        self.config = config
        self.outbox = EventOutbox(config.outbox_path)
        self.actions: dict[str, Action] = {}
        self.activity = ""
        self._status_parts: dict[str, Callable[[], Any]] = {}
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._starters: list[Callable[[], Awaitable[Any]]] = []
        self.link: DashboardLink | None = None
        self.parts: dict[str, Any] = {}

    # -- what the parts use --------------------------------------------------------------------------------
    def add_action(self, name: str, action: Action) -> None:
        self.actions[name] = action

    def add_status(self, key: str, part: Callable[[], Any]) -> None:
        """`part()` gives this key's value in every status (it must be cheap: it runs a few times a second)."""
        self._status_parts[key] = part

    def add_closer(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    def add_starter(self, starter: Callable[[], Awaitable[Any]]) -> None:
        """`starter()` runs once the agent's loop is up (e.g. to open a listening socket)."""
        self._starters.append(starter)

    def emit(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Record a durable event; safe to call from any thread."""
        if self._loop is not None and self._loop_thread_differs():
            self._loop.call_soon_threadsafe(self._emit, name, data)
        else:
            self._emit(name, data)

    def preview(self, message: dict[str, Any]) -> None:
        if self.link is not None:
            self.link.preview({"type": "preview", "rig": self.config.name, **message})

    def _loop_thread_differs(self) -> bool:
        try:
            return asyncio.get_running_loop() is not self._loop
        except RuntimeError:
            return True

    def _emit(self, name: str, data: dict[str, Any] | None) -> None:
        event = self.outbox.append(name, data)
        log.debug("event %d %s %s", event["seq"], name, data or "")
        if self.link is not None:
            self.link.events_added()

    # -- what the dashboard sees ---------------------------------------------------------------------------
    def hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "rig": self.config.name,
            "kind": self.config.kind,
            "version": __version__,
            "hostname": socket.gethostname(),
            "capabilities": sorted(self.actions),
            "disk": self.disk(),
            "next_seq": self.outbox.last_seq() + 1,
        }

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"type": "status", "rig": self.config.name, "time": time.time(), "disk": self.disk()}
        state = "idle"
        for key, part in self._status_parts.items():
            try:
                value = part()
            except Exception:  # a broken part must not silence the rig's heartbeat
                log.exception("status part %s failed", key)
                value = None
            status[key] = value
            if isinstance(value, dict) and value.get("active"):
                state = value.get("rig_state") or key
        status["state"] = state
        status["activity"] = self.activity
        return status

    def disk(self) -> dict[str, Any]:
        path = self.config.local_subjects or self.config.outbox_path.parent
        probe = path if path.exists() else self.config.outbox_path.parent
        usage = shutil.disk_usage(probe)
        return {"path": str(path), "total": usage.total, "free": usage.free}

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
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        install_stop_signals(self._loop, self.stop)
        tasks = []
        if self.config.agent_url and self.config.token:
            self.link = DashboardLink(
                url=self.config.agent_url, token=self.config.token, rig=self.config.name, outbox=self.outbox,
                hello=self.hello, status=self.status, on_command=self.on_command,
                status_interval=self.config.status_interval,
            )
            tasks.append(asyncio.ensure_future(self.link.run()))
        else:
            log.warning("no dashboard or token configured: running without a dashboard")
        await self._start_parts()
        self.emit("agent.started", {"version": __version__, "pid": os.getpid(), "capabilities": sorted(self.actions)})
        try:
            await self._stopping.wait()
        finally:
            await self._shutdown(tasks)

    async def _start_parts(self) -> None:
        """A part that cannot start (say, its port is taken) is reported; the rest of the rig keeps working."""
        for starter in self._starters:
            try:
                await starter()
            except Exception as exc:
                name = getattr(starter, "__qualname__", str(starter))
                log.error("could not start %s: %s", name, exc)
                self.emit("agent.part_failed", {"part": name, "error": f"{exc.__class__.__name__}: {exc}"})

    def stop(self) -> None:
        if self._stopping is not None and not self._stopping.is_set():
            log.info("stopping")
            self._stopping.set()

    async def _shutdown(self, tasks: list[asyncio.Task]) -> None:
        for closer in reversed(self._closers):
            try:
                await asyncio.wait_for(closer(), timeout=10)
            except Exception:
                log.exception("a part did not stop cleanly")
        self._emit("agent.stopped", {"pid": os.getpid()})
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


def agent_build(config: RigConfig) -> Agent:
    """An agent with every part this rig's configuration asks for."""
    from rigs import agent_parts

    agent = Agent(config)
    agent_parts.install(agent)
    return agent


def agent_run(config: RigConfig) -> int:
    agent = agent_build(config)
    if sys.platform == "win32":
        asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())
    asyncio.run(agent.run())
    return 0
