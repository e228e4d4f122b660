"""Wires the rig's parts (spooler, echo communicator, copier) into an agent, as far as its config asks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rigs.parts import copier, session, spool

if TYPE_CHECKING:
    from rigs.agent import Agent


def install(agent: "Agent") -> None:
    """Add each part's actions and status to the agent; the parts can find each other in `agent.parts`."""
    agent.parts["spool"] = spool.install(agent)
    agent.parts["copier"] = copier.install(agent)
    agent.parts["session"] = session.install(agent)
