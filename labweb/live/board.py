"""The rigs' live state in this process, and the ticker that sends browsers one batched frame of what changed.

Relaying every agent status as its own group message collapses past a few dozen rigs (DESIGN 5.1); instead the
board keeps each rig's latest state here and publishes one frame of what changed: at once when the ticker was
idle (a lone change waits for nothing), then at most one frame per tick (50 ms) while changes keep coming, so
under load they coalesce. A frame carries, per rig, only the fields that changed (plus `rig`, `online` and
`kind`, DESIGN 2), and now and then a rig's whole entry, so a browser that took a snapshot from another process's
database copy converges; browsers merge the fields into the entries of their last snapshot (live.js).
Each frame carries this process's `origin` and a `seq`, so a browser that misses one asks for a snapshot.
Durable facts (events, commands) are in the database before they reach the board.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from labweb.alerts.jobs import jobs_ensure
from labweb.fleet import presence
from labweb.fleet.models import Rig
from rigs.messages import STATUS_PARTS

from .clock import ClockOffset
from .entries import STATUS_FIELDS, browser_text, rig_entry
from .fanout import RELAY_GROUP
from .housekeeping import housekeeping_loop
from .layer import group_send_counted
from .loops import per_loop

log = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"  # every browser socket, in any process: counted on /metrics; frames go by RELAY_GROUP
# A rig's whole entry goes out at least this often, even when only a few fields change: a browser whose snapshot
# came from the database (rigs held by another process, saved every PERSIST_SECONDS) is right again within it.
WHOLE_ENTRY_SECONDS = 5.0
ALWAYS = ("rig", "online", "kind")  # in every rig's part of a frame (DESIGN 2)


class AgentLink(Protocol):
    """What the board needs of a connected agent's consumer."""

    rig: Rig
    last_heard: float
    channel_name: str

    async def close(self, code: int | None = None) -> None: ...


class RigBoard:
    """Latest state of the rigs whose agents are connected to this process, plus what browsers must be told."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex[:12]
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{self.origin}"  # for leases (labweb.live.sweep)
        self.seq = 0
        self.entries: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, AgentLink] = {}
        self._changes: dict[str, dict[str, Any]] = {}  # rig -> its fields that changed since the last frame
        self._whole_at: dict[str, float] = {}  # rig -> when its whole entry last went out (monotonic)
        self.clocks: dict[str, ClockOffset] = {}  # rig -> its clock's offset, from its statuses (labweb.live.clock)
        self._wake: asyncio.Event | None = None  # set when something changed: the ticker has a frame to send
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
        self.clocks[rig.name] = ClockOffset()  # a fresh agent: its PC's clock may have been set meanwhile
        self._whole(rig.name)
        if previous is not None and previous is not link:
            log.info("rig %s reconnected; dropping its older link", rig.name)
        self.ensure_running()

    def agent_status(self, rig_name: str, status: dict) -> None:
        """The hot path (every agent's every status): note the fields whose value changed, and the rig's clock."""
        entry = self.entries.get(rig_name)
        if entry is None:
            return
        now = time.time()
        clock = self.clocks.get(rig_name)
        if clock is None:  # a status read after its link was dropped for silence
            clock = self.clocks[rig_name] = ClockOffset()
        clock.sample(now, status["time"])
        changes = self._changes.get(rig_name)
        if changes is None:
            changes = self._changes[rig_name] = {}
        for field in STATUS_FIELDS:
            if field in status:
                value = status[field]
                if entry.get(field) != value:
                    entry[field] = changes[field] = value
        entry["last_seen"] = changes["last_seen"] = now
        self._wake.set()

    def agent_events(self, rig_name: str, events: list[dict]) -> None:
        entry = self.entries.get(rig_name)
        if entry is None or not events:
            return
        last = events[-1]
        entry["last_event"] = {"name": last["name"], "time": last["time"], "seq": last["seq"]}
        self._changed(rig_name, last_event=entry["last_event"])

    def agent_preview(self, rig_name: str, preview: dict) -> None:
        self._previews[rig_name] = {k: preview[k] for k in ("rig", "time", "png", "width", "height")}
        self._wake_up()

    def agent_gone(self, link: AgentLink) -> bool:
        """Forget a link; True when it was the rig's current one (so the rig is now offline)."""
        name = link.rig.name
        if self.agents.get(name) is not link:
            return False
        del self.agents[name]
        self.clocks.pop(name, None)
        entry = self.entries.get(name)
        if entry is not None:
            entry.update(online=False, state="offline")
            self._changed(name, online=False, state="offline")
        return True

    def agent_forget(self, link: AgentLink) -> None:
        """Forget a link that a newer one replaced, saying nothing: the rig is online through the newer link (in this
        process, or in another one, whose frames and snapshot speak for it)."""
        name = link.rig.name
        if self.agents.get(name) is link:
            del self.agents[name]
            self.entries.pop(name, None)
            self.clocks.pop(name, None)

    def command_changed(self, command: dict[str, Any]) -> None:
        self._commands[command["id"]] = command
        self._wake_up()

    def sessions_changed(self, entries: list[dict[str, Any]]) -> None:
        """Sessions whose records changed: the next frame carries their entries to the live session pages."""
        for entry in entries:
            self._sessions[entry["exp_ref"]] = entry
        if entries:
            self._wake_up()

    def _changed(self, rig_name: str, **fields: Any) -> None:
        self._changes.setdefault(rig_name, {}).update(fields)
        self._wake_up()

    def _whole(self, rig_name: str) -> None:
        """The rig's whole entry goes in the next frame (it is new, back, or replaced)."""
        self._changes[rig_name] = dict(self.entries[rig_name])
        self._whole_at[rig_name] = time.monotonic()
        self._wake_up()

    def _wake_up(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()

    # -- browsers ------------------------------------------------------------------------------------------
    async def snapshot(self) -> dict[str, Any]:
        stored = await database_sync_to_async(_rigs_from_database)()
        # The entries of the rigs held here are read on the event loop, with the seq they are current to: frames
        # up to that seq are in them (a browser drops those frames if they reach it after the snapshot).
        rigs = [dict(self.entries[name]) if name in self.agents and name in self.entries else entry
                for name, entry in stored]
        return {"type": "snapshot", "origin": self.origin, "seq": self.seq, "rigs": rigs}

    def take_frame(self) -> str | None:
        """The frame of everything changed since the last one, as JSON text, or None when nothing changed.

        Per rig it carries the changed fields with `rig`, `online` and `kind`; the whole entry when that is due."""
        if not (self._changes or self._previews or self._commands or self._sessions):
            return None
        self.seq += 1
        now = time.monotonic()
        rigs = []
        for name in sorted(self._changes):
            entry = self.entries.get(name)
            if entry is None:
                continue
            if now - self._whole_at.get(name, -WHOLE_ENTRY_SECONDS) >= WHOLE_ENTRY_SECONDS:
                self._whole_at[name] = now
                rigs.append(entry)
            else:
                changes = self._changes[name]
                for key in ALWAYS:
                    changes[key] = entry[key]
                rigs.append(changes)
        frame = {
            "type": "frame",
            "origin": self.origin,
            "seq": self.seq,
            "rigs": rigs,
            "previews": list(self._previews.values()),
            "commands": list(self._commands.values()),
            "sessions": list(self._sessions.values()),
        }
        text = browser_text(frame)  # once per frame, whatever the number of browsers
        self._changes = {}
        self._previews.clear()
        self._commands.clear()
        self._sessions.clear()
        return text

    def mark_offline(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self.entries[entry["rig"]] = entry
            self._whole(entry["rig"])

    # -- the ticker ----------------------------------------------------------------------------------------
    def ensure_running(self) -> None:
        jobs_ensure(self)  # the alert checks, notifications and history sampling of this process (labweb.alerts.jobs)
        if self._tasks and not any(task.done() for task in self._tasks):
            return
        for task in self._tasks:
            task.cancel()
        self._tasks = [
            asyncio.ensure_future(self._tick_loop()),
            asyncio.ensure_future(housekeeping_loop(self)),
        ]

    async def _tick_loop(self) -> None:
        """Leading edge, then coalesce: a change after a quiet spell goes out at once; changes that come while a
        frame went out less than a tick ago wait for the tick, and go together."""
        layer = get_channel_layer()
        tick = settings.LABWEB_RELAY_TICK_SECONDS
        if self._wake is None:
            self._wake = asyncio.Event()
        while True:
            await self._wake.wait()
            self._wake.clear()
            text = self.take_frame()
            if text is None:
                continue
            # A failure is counted and logged (labweb.live.layer); browsers resync on the seq gap.
            await group_send_counted(layer, RELAY_GROUP, {"type": "relay.frame", "text": text})
            await asyncio.sleep(tick)

def _rigs_from_database() -> list[tuple[str, dict[str, Any]]]:
    """Every registered rig with its entry as the database has it (online while its last_seen is fresh)."""
    since = presence.fresh_after()
    return [(rig.name, rig_entry(rig, online=presence.rig_is_online(rig, since=since)))
            for rig in Rig.objects.all()]


get_board = per_loop(RigBoard)  # one per daphne process; tests get a fresh one per event loop
