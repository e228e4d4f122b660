"""Builds a rig's agent from its configuration: each part is made here and given its collaborators by hand.

The order matters twice: parts start in this order and close in the reverse one, so the session part (which
stops a running session's camera and task) closes first and the spooler last.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from rigs.agent.core import Agent, Part
from rigs.agent.events import EventStream
from rigs.config import RigConfig
from rigs.outbox import EventOutbox
from rigs.parts.copier import CopierPart
from rigs.parts.session import SessionPart
from rigs.parts.spool import SpoolPart
from rigs.parts.task import TaskPart

log = logging.getLogger(__name__)


def agent_build(config: RigConfig) -> Agent:
    """An agent with every part this rig's configuration asks for."""
    events = EventStream(EventOutbox(config.outbox_path))
    agent = Agent(config, events)  # first: the spooler's previews go out through it
    spool = _spool(config, agent)
    task = TaskPart(config.task, rig=config.name, main_sync=config.main_sync, emit=events.emit) if config.task else None
    copier = _copier(config, events)
    members = [member for member in (task, spool) if member is not None]
    session = SessionPart(config, emit=events.emit, members=members, copier=copier)
    parts: list[Part] = [part for part in (spool, task, copier, session) if part is not None]
    agent.attach(parts, on_echo_hosts=session.echo_hosts)
    return agent


def _spool(config: RigConfig, agent: Agent) -> SpoolPart | None:
    if config.camera is None:
        return None
    base = config.local_subjects.parent if config.local_subjects else config.outbox_path.parent
    return SpoolPart(config.camera, rig=config.name, defaults=config.spool, spool_root=base / "spool",
                     emit=agent.emit, preview=agent.preview)


def _copier(config: RigConfig, events: EventStream) -> CopierPart | None:
    if config.remote_subjects is None:
        return None
    if config.local_subjects is None:
        log.warning("data.remote_subjects is set but data.local_subjects is not: nothing to copy, no copier")
        return None
    return CopierPart(rig=config.name, tag=config.device_tag, local=config.local_subjects, remote=config.remote_subjects,
                      settings=config.transfer, emit=events.emit)


def agent_run(config: RigConfig) -> int:
    agent = agent_build(config)
    if sys.platform == "win32":
        asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())
    asyncio.run(agent.run())
    return 0
