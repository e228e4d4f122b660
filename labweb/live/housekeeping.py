"""The board's housekeeping: agents gone silent, the held rigs' status saved, rigs left online by a dead process
swept offline (one owner across processes, labweb.live.sweep), and commands nobody answered expired.

Runs beside the board's ticker in every dashboard process; the database work is batched, off the status path.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from labweb.fleet import presence, services
from labweb.fleet.models import Rig
from labweb.records.live import session_entries

from .entries import STATUS_FIELDS, command_entry, rig_entry
from .sweep import rigs_sweep_offline

log = logging.getLogger(__name__)

COMMAND_SWEEP_SECONDS = 5.0


class Board(Protocol):
    """What housekeeping needs of the board (labweb.live.board.RigBoard): the links it holds and their entries."""

    owner: str
    agents: dict[str, Any]  # rig name -> its link (board.AgentLink)
    entries: dict[str, dict[str, Any]]
    clocks: dict[str, Any]  # rig name -> its ClockOffset (labweb.live.clock)

    def agent_gone(self, link: Any) -> bool: ...

    def mark_offline(self, entries: list[dict[str, Any]]) -> None: ...

    def command_changed(self, command: dict[str, Any]) -> None: ...

    def sessions_changed(self, entries: list[dict[str, Any]]) -> None: ...


async def housekeeping_loop(board: Board) -> None:
    """Every second: drop silent agents; every 2 s save the held rigs' status and sweep; every 5 s expire commands."""
    last_persist = last_sweep = 0.0
    while True:
        await asyncio.sleep(1.0)
        try:
            await _drop_silent_agents(board)
            now = time.monotonic()
            if now - last_persist >= presence.PERSIST_SECONDS:
                last_persist = now
                await persist_and_sweep(board)
            if now - last_sweep >= COMMAND_SWEEP_SECONDS:
                last_sweep = now
                await _expire_commands(board)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("relay housekeeping failed; trying again in a second")


async def _drop_silent_agents(board: Board) -> None:
    limit = settings.LABWEB_RIG_SILENCE_SECONDS
    now = time.monotonic()
    for name, link in list(board.agents.items()):
        if now - link.last_heard > limit:
            log.warning("rig %s silent for %.0f s: marking it offline and closing its socket", name, now - link.last_heard)
            if board.agent_gone(link):
                await database_sync_to_async(services.rig_mark_offline)(rig_ids=[link.rig.pk])
            await link.close(code=4008)


async def persist_and_sweep(board: Board) -> None:
    # The links are read here, on the event loop, once: the thread below must not read board.agents while
    # agents connect, or a rig that connected after its query would look revoked (closed with 4003).
    links = dict(board.agents)
    seen = {}
    for name, link in links.items():
        entry = board.entries.get(name, {})
        when = dt.datetime.fromtimestamp(entry.get("last_seen") or time.time(), tz=dt.UTC)
        status = {k: entry.get(k) for k in STATUS_FIELDS}
        clock = board.clocks.get(name)
        status["clock_offset"] = clock.seconds if clock is not None else None  # read by the clock-skew alert
        seen[link.rig.pk] = (when, status)
    held = {name: link.rig.token_hash for name, link in links.items()}
    revoked, stale = await database_sync_to_async(_persist_and_sweep_sync)(seen, held, board.owner)
    for name in revoked:
        link = links[name]
        if board.agents.get(name) is not link:
            continue  # gone, or replaced by a newer link (with a token checked when it connected)
        log.warning("rig %s: its token was rotated or revoked; closing its socket", name)
        if board.agent_gone(link):
            await database_sync_to_async(services.rig_mark_offline)(rig_ids=[link.rig.pk])
        await link.close(code=4003)
    # A rig that connected here meanwhile is not offline, whatever the database said a moment ago.
    board.mark_offline([entry for entry in stale if entry["rig"] not in board.agents])


async def _expire_commands(board: Board) -> None:
    cutoff = timezone.now() - dt.timedelta(seconds=settings.LABWEB_COMMAND_TIMEOUT_SECONDS)
    expired, sessions = await database_sync_to_async(_expire_commands_sync)(cutoff)
    for entry in expired:
        board.command_changed(entry)
    board.sessions_changed(sessions)


def _persist_and_sweep_sync(seen, held: dict[str, str], owner: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Save the latest status of the rigs held here; the names among `held` (rig -> the token hash its link was
    authenticated with) whose token changed since; and rigs another (perhaps killed) process left marked online
    though their last_seen is stale, now marked offline by the one process that owns the sweep
    (labweb.live.sweep). Runs in a worker thread: it sees only its arguments."""
    services.rigs_touch(seen=seen)
    hashes = dict(Rig.objects.filter(name__in=list(held)).values_list("name", "token_hash"))
    revoked = [name for name, token_hash in held.items() if hashes.get(name) != token_hash]
    cutoff = presence.fresh_after()
    stale_rigs = rigs_sweep_offline(owner=owner, cutoff=cutoff, holding=list(held))
    return revoked, [rig_entry(rig, online=False) for rig in stale_rigs]


def _expire_commands_sync(cutoff: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    expired = services.commands_expire(older_than=cutoff)
    refs = {str((c.params or {}).get("exp_ref")) for c in expired if (c.params or {}).get("exp_ref")}
    return [command_entry(c) for c in expired], session_entries(refs)
