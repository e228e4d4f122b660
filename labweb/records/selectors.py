"""Reads of the records, shaped for pages and sockets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from labweb.fleet.models import Rig, RigEvent

from .choices import SessionState
from .models import Session, SessionRig, Subject


def subject_list(*, search: str = "", include_inactive: bool = True) -> QuerySet[Subject]:
    subjects = Subject.objects.all()
    if search:
        subjects = subjects.filter(Q(name__icontains=search) | Q(lab__icontains=search) | Q(notes__icontains=search))
    if not include_inactive:
        subjects = subjects.filter(is_active=True)
    return subjects


def session_list(
    *,
    subject: str = "",
    rig: str = "",
    state: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[Session]:
    sessions = Session.objects.select_related("subject").prefetch_related("participants__rig")
    if subject:
        sessions = sessions.filter(subject__name=subject)
    if rig:
        sessions = sessions.filter(participants__rig__name=rig)
    if state:
        sessions = sessions.filter(state=state)
    if date_from:
        sessions = sessions.filter(date__gte=date_from)
    if date_to:
        sessions = sessions.filter(date__lte=date_to)
    return sessions.distinct().order_by("-created_at", "-pk")  # newest first, whatever the subject


def subject_get(*, name: str) -> Subject:
    """The subject with this name (Subject.DoesNotExist when there is none)."""
    return Subject.objects.select_related("responsible").get(name=name)


def session_get(*, exp_ref: str) -> Session:
    """The session with this exp_ref, its subject and the rigs that took part (main rig first)."""
    return (
        Session.objects.select_related("subject", "created_by")
        .prefetch_related("participants__rig")
        .get(exp_ref=exp_ref)
    )


def session_events(*, session: Session, limit: int = 1000) -> QuerySet[RigEvent]:
    """The rig events that name this session (data.exp_ref), per rig in time order."""
    return (
        RigEvent.objects.filter(data__exp_ref=session.exp_ref)
        .select_related("rig")
        .order_by("rig__name", "time", "seq")[:limit]
    )


def sessions_holding(*, rigs: Iterable[Rig]) -> dict[int, Session]:
    """For each rig that a session still holds (created, initialized or running), that session.

    The dashboard's records come first; a rig whose live status says it is in a session the records do not show
    as ended (one an iblrig main started moments ago) is held by that session too.
    """
    rigs = list(rigs)
    held: dict[int, Session] = {}
    for part in (SessionRig.objects.filter(rig__in=rigs, session__state__in=SessionState.active())
                 .select_related("session").order_by("-session__created_at")):
        held.setdefault(part.rig_id, part.session)
    reported = {rig.pk: (rig.last_status or {}).get("session") or {} for rig in rigs if rig.pk not in held}
    refs = {s.get("exp_ref") for s in reported.values() if s.get("active") and s.get("exp_ref")}
    known = {s.exp_ref: s for s in Session.objects.filter(exp_ref__in=refs)}
    for rig_id, status in reported.items():
        exp_ref = status.get("exp_ref")
        if status.get("active") and exp_ref:
            session = known.get(exp_ref) or Session(exp_ref=exp_ref, state=SessionState.RUNNING)
            if session.state not in SessionState.ended():
                held[rig_id] = session
    return held
