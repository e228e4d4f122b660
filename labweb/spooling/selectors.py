"""Reads of spool runs, shaped for the rig and session pages."""

from __future__ import annotations

from django.db.models import QuerySet

from labweb.fleet.models import Rig
from labweb.records.models import Session

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
