"""Reads of spool runs and of the rig page's other lists, shaped for pages."""

from __future__ import annotations

from django.db.models import QuerySet

from labweb.records.models import Rig, Session

from .models import SpoolRun


def spool_run_list(*, rig: Rig | None = None, session: Session | None = None, outcome: str = "") -> QuerySet[SpoolRun]:
    """Spool runs, newest first (refused starts included), with their rig and session."""
    runs = SpoolRun.objects.select_related("rig", "session")
    if rig is not None:
        runs = runs.filter(rig=rig)
    if session is not None:
        runs = runs.filter(session=session)
    if outcome:
        runs = runs.filter(outcome=outcome)
    return runs


def rig_get(*, name: str) -> Rig:
    """The rig with this name (Rig.DoesNotExist when there is none)."""
    return Rig.objects.get(name=name)
