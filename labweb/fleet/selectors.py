"""Reads of the fleet's records, shaped for pages and sockets."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Command, Rig, RigEvent


def rig_list() -> QuerySet[Rig]:
    return Rig.objects.all()


def rig_get(*, name: str) -> Rig:
    """The rig with this name (Rig.DoesNotExist when there is none)."""
    return Rig.objects.get(name=name)


def rig_events(*, rig: Rig, limit: int = 100) -> QuerySet[RigEvent]:
    return RigEvent.objects.filter(rig=rig).order_by("-seq")[:limit]


def rig_commands(*, rig: Rig, limit: int = 50) -> QuerySet[Command]:
    return Command.objects.filter(rig=rig).select_related("issued_by")[:limit]
