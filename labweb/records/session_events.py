"""What rig events say about sessions: the record (created by exp_ref if the dashboard never heard of it), each
rig's part and lifecycle state, and the session's own state. Registered for `session.` and `echo.` events."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from labweb.fleet.models import Rig, RigEvent
from rigs.layout import LayoutError, exp_ref_parse

from .choices import SessionOrigin, SessionState
from .models import Session, SessionRig, Subject

log = logging.getLogger(__name__)

# Where a rig's own lifecycle event puts that rig and the session.
RIG_STATES = {
    "session.initialized": SessionState.INITIALIZED,
    "session.started": SessionState.RUNNING,
    "session.stopped": SessionState.STOPPED,
    "session.interrupted": SessionState.INTERRUPTED,
    "session.cleaned_up": SessionState.CLEANED_UP,
}
_ORDER = [SessionState.CREATED, SessionState.INITIALIZED, SessionState.RUNNING, SessionState.STOPPED,
          SessionState.CLEANED_UP]


def session_for_exp_ref(exp_ref: str) -> Session | None:
    """The session with this exp_ref, created (with its subject) when rigs report one the dashboard never made."""
    session = Session.objects.filter(exp_ref=exp_ref).first()
    if session is not None:
        return session
    try:
        ref = exp_ref_parse(exp_ref)
    except LayoutError as exc:
        log.warning("ignoring session %r reported by a rig: %s", exp_ref, exc)
        return None
    try:
        with transaction.atomic():
            subject, _ = Subject.objects.get_or_create(name=ref.subject)
            return Session.objects.create(subject=subject, date=ref.date, number=ref.number, exp_ref=exp_ref,
                                          origin=SessionOrigin.AGENT)
    except IntegrityError:  # another rig's event created it a moment ago
        return Session.objects.filter(exp_ref=exp_ref).first()


def _participant(session: Session, rig: Rig) -> SessionRig:
    try:
        with transaction.atomic():
            participant, _ = SessionRig.objects.get_or_create(session=session, rig=rig)
    except IntegrityError:
        participant = SessionRig.objects.get(session=session, rig=rig)
    return participant


def _later(current: str, new: str) -> bool:
    """A state only moves forward (a late or resent event never takes a session back); interrupted sticks."""
    if current in (SessionState.INTERRUPTED, SessionState.FAILED):
        return False
    if new in (SessionState.INTERRUPTED, SessionState.FAILED):
        return True
    return _ORDER.index(new) > _ORDER.index(current) if current in _ORDER else True


def session_event_apply(rig: Rig, event: RigEvent) -> None:
    exp_ref = event.data.get("exp_ref")
    if not isinstance(exp_ref, str) or not exp_ref:
        return
    session = session_for_exp_ref(exp_ref)
    if session is None:
        return
    participant = _participant(session, rig)
    name = event.name
    if name in RIG_STATES:
        _rig_moves(session, participant, RIG_STATES[name], event)
    elif name == "session.main_started":
        participant.is_main = True
        participant.save(update_fields=["is_main", "updated_at"])
    elif name == "session.main_running":
        _mark_main_sync(session, event.data.get("main_sync"))
    elif name == "session.main_ended" and not event.data.get("ok"):
        _session_moves(session, SessionState.FAILED if event.data.get("error") else SessionState.INTERRUPTED, event)


def _rig_moves(session: Session, participant: SessionRig, state: str, event: RigEvent) -> None:
    if _later(participant.state, state):
        participant.state = state
        participant.save(update_fields=["state", "updated_at"])
    # A cleanup after an interrupt leaves the session interrupted; after a stop, stopped.
    if state != SessionState.CLEANED_UP:
        _session_moves(session, state, event)


def _session_moves(session: Session, state: str, event: RigEvent) -> None:
    fields = []
    if _later(session.state, state):
        session.state = state
        fields.append("state")
    if state == SessionState.RUNNING and session.started_at is None:
        session.started_at = event.time
        fields.append("started_at")
    if state in (SessionState.STOPPED, SessionState.INTERRUPTED, SessionState.FAILED):
        session.ended_at = max(session.ended_at or event.time, event.time)
        fields.append("ended_at")
    if fields:
        session.save(update_fields=fields)


def _mark_main_sync(session: Session, rig_name) -> None:
    if isinstance(rig_name, str):
        rig = Rig.objects.filter(name=rig_name).first()
        if rig is not None:
            participant = _participant(session, rig)
            participant.is_main_sync = True
            participant.save(update_fields=["is_main_sync", "updated_at"])
