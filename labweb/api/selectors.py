"""Reads the API needs beyond the apps' own selectors: rigs with their live state, commands, events, tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from labweb.fleet import presence
from labweb.fleet.models import Command, Rig, RigEvent
from labweb.live.entries import rig_entry
from rigs.messages import IDLE, OFFLINE

from .models import ApiToken


def rig_live(rig: Rig, *, fresh_after: dt.datetime) -> dict[str, Any]:
    """The rig as the rigs page draws it (labweb.live.entries.rig_entry), from the status the board saves every 2 s."""
    return rig_entry(rig, online=presence.rig_is_online(rig, since=fresh_after))


def rig_list(*, kind: str = "", online: bool | None = None, state: str = "") -> QuerySet[Rig]:
    """Rigs by name; `online` and `state` (idle, spooling, ..., offline) as rig_live tells them."""
    rigs = Rig.objects.all()
    is_online = presence.online_filter()
    if kind:
        rigs = rigs.filter(kind=kind)
    if online is not None:
        rigs = rigs.filter(is_online) if online else rigs.exclude(is_online)
    if state == OFFLINE:
        rigs = rigs.exclude(is_online)
    elif state == IDLE:  # a rig whose first status is not saved yet is idle too
        rigs = rigs.filter(is_online).filter(Q(last_status__state=IDLE) | ~Q(last_status__has_key="state"))
    elif state:
        rigs = rigs.filter(is_online, last_status__state=state)
    return rigs


def command_list(
    *,
    rig: str = "",
    action: str = "",
    state: str = "",
    issued_by: str = "",
    issued_after: dt.datetime | None = None,
    issued_before: dt.datetime | None = None,
) -> QuerySet[Command]:
    """Commands to rigs, newest first, with who issued them."""
    commands = Command.objects.select_related("rig", "issued_by")
    if rig:
        commands = commands.filter(rig__name=rig)
    if action:
        commands = commands.filter(action=action)
    if state:
        commands = commands.filter(state=state)
    if issued_by:
        commands = commands.filter(issued_by__username=issued_by)
    if issued_after:
        commands = commands.filter(issued_at__gte=issued_after)
    if issued_before:
        commands = commands.filter(issued_at__lt=issued_before)
    return commands.order_by("-issued_at")


def rig_event_list(
    *,
    rig: str = "",
    name: str = "",
    name_prefix: str = "",
    time_after: dt.datetime | None = None,
    time_before: dt.datetime | None = None,
) -> QuerySet[RigEvent]:
    """The rigs' durable events, newest first (by the rig's clock)."""
    events = RigEvent.objects.select_related("rig")
    if rig:
        events = events.filter(rig__name=rig)
    if name:
        events = events.filter(name=name)
    if name_prefix:
        events = events.filter(name__startswith=name_prefix)
    if time_after:
        events = events.filter(time__gte=time_after)
    if time_before:
        events = events.filter(time__lt=time_before)
    return events.order_by("-time", "-pk")


def api_token_list(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)
