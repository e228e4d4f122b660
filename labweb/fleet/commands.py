"""Sending a command to a rig from anywhere in the dashboard: recorded with who gave it, then relayed to the agent.

The browser socket and plain HTML forms (session start, re-verify, ...) both go through `command_send`.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from rigs.messages import encode

from . import services
from .models import Command, Rig

CommandRefused = services.CommandRefused


def agent_group(rig_name: str) -> str:
    """The channel-layer group of a rig's agent socket, in whichever dashboard process holds it."""
    return f"agent.{rig_name}"


def command_issue_text(*, user, rig: Rig, action: str, params: dict) -> tuple[Command, str]:
    """Record the command (refused ones raise CommandRefused, recorded as refused) and give its wire text."""
    command = services.command_issue(user=user, rig=rig, action=action, params=params)
    text = encode({"type": "command", "id": str(command.pk), "action": command.action, "params": command.params,
                   "issued_by": user.get_username()})
    return command, text


def command_send(*, user, rig: Rig, action: str, params: dict | None = None) -> Command:
    """From synchronous code (views): record and relay; the agent's reply closes the command."""
    command, text = command_issue_text(user=user, rig=rig, action=action, params=params or {})
    async_to_sync(get_channel_layer().group_send)(agent_group(rig.name), {"type": "agent.command", "text": text})
    return command
