"""The rigs' live state in this process, and the ticker that sends browsers one batched frame of what changed.

Relaying every agent status as its own group message collapses past a few dozen rigs (DESIGN 5.1); instead the
board keeps each rig's latest state here and, every tick (50 ms), publishes one frame of the rigs that changed.
Each frame carries this process's `origin` and a `seq`, so a browser that misses one asks for a snapshot.
Durable facts (events, commands) are in the database before they reach the board.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
import time
import uuid
import weakref
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from labweb.alerts.jobs import jobs_ensure
from labweb.fleet import services
from labweb.fleet.models import Command, Rig
from labweb.records.live import session_entries
from rigs.messages import OFFLINE, STATUS_PARTS

from .sweep import rigs_sweep_offline

log = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"
# What a rig entry takes from the agent's status (rigs.messages). "time" is the rig's clock when it sent the
# status; saved with it, it lets the alerts compare the rig's clock with last_seen (the dashboard's).
STATUS_FIELDS = ("state", *STATUS_PARTS, "time", "quarantined")
PERSIST_SECONDS = 2.0
COMMAND_SWEEP_SECONDS = 5.0


class AgentLink(Protocol):
    """What the board needs of a connected agent's consumer."""

    rig: Rig
    last_heard: float
    channel_name: str

    async def close(self, code: int | None = None) -> None: ...


def rig_entry(rig: Rig, *, online: bool) -> dict[str, Any]:
    """A rig as browsers see it; `rig`, `online` and `kind` are always there (DESIGN 2)."""
    status = rig.last_status or {}
    entry = {
        "rig": rig.name,
        "online": online,
        "kind": rig.kind,
        "version": rig.version,
        "hostname": rig.hostname,
        "capabilities": list(rig.capabilities or []),
        "last_seen": rig.last_seen.timestamp() if rig.last_seen else None,
        "state": status.get("state", "idle") if online else OFFLINE,
        "location": rig.location,
        "out_of_service": rig.out_of_service,
    }
    for field in STATUS_FIELDS[1:]:
        entry[field] = status.get(field)
    return entry


def command_entry(command: Command) -> dict[str, Any]:
    return {
        "id": str(command.pk),
        "rig": command.rig.name,
        "action": command.action,
        "params": command.params,
        "state": command.state,
        "error": command.error,
        "result": command.result,
        "issued_by": command.issued_by.get_username() if command.issued_by_id else None,
        "issued_at": command.issued_at.timestamp() if command.issued_at else None,
    }


class RigBoard:
    """Latest state of the rigs whose agents are connected to this process, plus what browsers must be told."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex[:12]
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{self.origin}"  # for leases (labweb.live.sweep)
        self.seq = 0
        self.entries: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, AgentLink] = {}
        self._dirty: set[str] = set()
        self._previews: dict[str, dict[str, Any]] = {}
        self._commands: dict[str, dict[str, Any]] = {}
        self._sessions: dict[str, dict[str, Any]] = {}  # exp_ref -> entry (labweb.records.live) of a changed session
        self._tasks: list[asyncio.Task] = []

    # -- agents --------------------------------------------------------------------------------------------
    def agent_hello(self, link: AgentLink, hello: dict) -> None:
        rig = link.rig
        previous = self.agents.get(rig.name)
        self.agents[rig.name] = link
        entry = rig_entry(rig, online=True)
        # A fresh agent process: what the rig did before it (re)connected is history until its first status.
        entry.update(version=hello.get("version", ""), hostname=hello.get("hostname", ""), state="idle",
                     capabilities=list(hello.get("capabilities", [])),
                     time=None, **{part: None for part in STATUS_PARTS})
        entry["disk"] = hello.get("disk")
        entry["last_seen"] = time.time()
        self.entries[rig.name] = entry
        self._dirty.add(rig.name)
        if previous is not None and previous is not link:
            log.info("rig %s reconnected; dropping its older link", rig.name)
        self.ensure_running()

    def agent_status(self, rig_name: str, status: dict) -> None:
        entry = self.entries.get(rig_name)
        if entry is None:
            return
        for field in STATUS_FIELDS:
            if field in status:
                entry[field] = status[field]
        entry["last_seen"] = time.time()
        self._dirty.add(rig_name)

    def agent_events(self, rig_name: str, events: list[dict]) -> None:
        entry = self.entries.get(rig_name)
        if entry is None or not events:
            return
        last = events[-1]
        entry["last_event"] = {"name": last["name"], "time": last["time"], "seq": last["seq"]}
        self._dirty.add(rig_name)

    def agent_preview(self, rig_name: str, preview: dict) -> None:
        self._previews[rig_name] = {k: preview[k] for k in ("rig", "time", "png", "width", "height")}

    def agent_gone(self, link: AgentLink) -> bool:
        """Forget a link; True when it was the rig's current one (so the rig is now offline)."""
        name = link.rig.name
        if self.agents.get(name) is not link:
            return False
        del self.agents[name]
        entry = self.entries.get(name)
        if entry is not None:
            entry.update(online=False, state="offline")
            self._dirty.add(name)
        return True

    def command_changed(self, command: dict[str, Any]) -> None:
        self._commands[command["id"]] = command

    def sessions_changed(self, entries: list[dict[str, Any]]) -> None:
        """Sessions whose records changed: the next frame carries their entries to the live session pages."""
        for entry in entries:
            self._sessions[entry["exp_ref"]] = entry

    # -- browsers ------------------------------------------------------------------------------------------
    async def snapshot(self) -> dict[str, Any]:
        rigs = await database_sync_to_async(self._rigs_from_database)()
        return {"type": "snapshot", "origin": self.origin, "seq": self.seq, "rigs": rigs}

    def _rigs_from_database(self) -> list[dict[str, Any]]:
        fresh_after = timezone.now() - dt.timedelta(seconds=_stale_seconds())
        rigs = []
        for rig in Rig.objects.all():
            if rig.name in self.agents and rig.name in self.entries:
                rigs.append(dict(self.entries[rig.name]))
            else:
                online = rig.online and rig.last_seen is not None and rig.last_seen >= fresh_after
                rigs.append(rig_entry(rig, online=online))
        return rigs

    def take_frame(self) -> str | None:
        """The frame of everything changed since the last one, as JSON text, or None when nothing changed."""
        if not (self._dirty or self._previews or self._commands or self._sessions):
            return None
        self.seq += 1
        frame = {
            "type": "frame",
            "origin": self.origin,
            "seq": self.seq,
            "rigs": [dict(self.entries[name]) for name in sorted(self._dirty) if name in self.entries],
            "previews": list(self._previews.values()),
            "commands": list(self._commands.values()),
            "sessions": list(self._sessions.values()),
        }
        self._dirty.clear()
        self._previews.clear()
        self._commands.clear()
        self._sessions.clear()
        return json.dumps(frame, separators=(",", ":"))

    def mark_offline(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self.entries[entry["rig"]] = entry
            self._dirty.add(entry["rig"])

    # -- the ticker ----------------------------------------------------------------------------------------
    def ensure_running(self) -> None:
        jobs_ensure(self)  # the alert checks, notifications and history sampling of this process (labweb.alerts.jobs)
        if self._tasks and not any(task.done() for task in self._tasks):
            return
        for task in self._tasks:
            task.cancel()
        self._tasks = [
            asyncio.ensure_future(self._tick_loop()),
            asyncio.ensure_future(self._housekeeping_loop()),
        ]

    async def _tick_loop(self) -> None:
        layer = get_channel_layer()
        tick = settings.LABWEB_RELAY_TICK_SECONDS
        while True:
            started = time.monotonic()
            text = self.take_frame()
            if text is not None:
                try:
                    await layer.group_send(DASHBOARD_GROUP, {"type": "relay.frame", "text": text})
                except Exception:  # a layer hiccup must not stop the relay; browsers resync on the seq gap
                    log.exception("could not publish a frame to browsers")
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - started)))

    async def _housekeeping_loop(self) -> None:
        last_persist = last_sweep = 0.0
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._drop_silent_agents()
                now = time.monotonic()
                if now - last_persist >= PERSIST_SECONDS:
                    last_persist = now
                    await self._persist_and_sweep()
                if now - last_sweep >= COMMAND_SWEEP_SECONDS:
                    last_sweep = now
                    await self._expire_commands()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay housekeeping failed; trying again in a second")

    async def _drop_silent_agents(self) -> None:
        limit = settings.LABWEB_RIG_SILENCE_SECONDS
        now = time.monotonic()
        for name, link in list(self.agents.items()):
            if now - link.last_heard > limit:
                log.warning("rig %s silent for %.0f s: marking it offline and closing its socket", name, now - link.last_heard)
                if self.agent_gone(link):
                    await database_sync_to_async(services.rig_mark_offline)(rig_ids=[link.rig.pk])
                await link.close(code=4008)

    async def _persist_and_sweep(self) -> None:
        seen = {}
        for name, link in self.agents.items():
            entry = self.entries.get(name, {})
            when = dt.datetime.fromtimestamp(entry.get("last_seen") or time.time(), tz=dt.timezone.utc)
            seen[link.rig.pk] = (when, {k: entry.get(k) for k in STATUS_FIELDS})
        revoked, stale = await database_sync_to_async(self._persist_and_sweep_sync)(seen)
        for name in revoked:
            link = self.agents.get(name)
            if link is not None:
                log.warning("rig %s: its token was rotated or revoked; closing its socket", name)
                if self.agent_gone(link):
                    await database_sync_to_async(services.rig_mark_offline)(rig_ids=[link.rig.pk])
                await link.close(code=4003)
        self.mark_offline(stale)

    def _persist_and_sweep_sync(self, seen):
        services.rigs_touch(seen=seen)
        hashes = dict(Rig.objects.filter(name__in=list(self.agents)).values_list("name", "token_hash"))
        revoked = [name for name, link in self.agents.items() if hashes.get(name) != link.rig.token_hash]
        # Rigs another (perhaps killed) process left marked online: offline once their last_seen is stale, by the
        # one process that owns the sweep (labweb.live.sweep).
        cutoff = timezone.now() - dt.timedelta(seconds=_stale_seconds())
        stale_rigs = rigs_sweep_offline(owner=self.owner, cutoff=cutoff, holding=list(self.agents))
        return revoked, [rig_entry(rig, online=False) for rig in stale_rigs]

    async def _expire_commands(self) -> None:
        cutoff = timezone.now() - dt.timedelta(seconds=settings.LABWEB_COMMAND_TIMEOUT_SECONDS)
        expired, sessions = await database_sync_to_async(_expire_commands_sync)(cutoff)
        for entry in expired:
            self.command_changed(entry)
        self.sessions_changed(sessions)


def _expire_commands_sync(cutoff: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    expired = services.commands_expire(older_than=cutoff)
    refs = {str((c.params or {}).get("exp_ref")) for c in expired if (c.params or {}).get("exp_ref")}
    return [command_entry(c) for c in expired], session_entries(refs)


def _stale_seconds() -> float:
    # The silence limit plus the persist interval: a rig whose process died is offline within about 10 s.
    return settings.LABWEB_RIG_SILENCE_SECONDS + PERSIST_SECONDS + 1.0


_boards: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RigBoard]" = weakref.WeakKeyDictionary()


def get_board() -> RigBoard:
    """The board of the running event loop (one per daphne process; tests get a fresh one per loop)."""
    loop = asyncio.get_running_loop()
    board = _boards.get(loop)
    if board is None:
        board = _boards[loop] = RigBoard()
    return board
