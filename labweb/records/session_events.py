"""What rig events and command outcomes say about sessions: the record (created by exp_ref when the dashboard
never heard of it), each rig's part and state, and the session's own state.

Each rig reports its own part (session.initialized/started/stopped/interrupted); the session's state follows its
rigs until its main rig's word ends it (session.main_ended: stopped, interrupted or failed, with why). A rig whose
agent restarts mid-session has lost its part (interrupted); if it was the main, the session is over. A start the
main rig refused or never answered fails the session. Registered in RecordsConfig.ready.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction

from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command, Rig, RigEvent
from rigs.layout import LayoutError, exp_ref_parse

from .choices import CopyState, SessionOrigin, SessionState
from .models import Session, SessionRig, Subject
from .validators import subject_name_check

log = logging.getLogger(__name__)

S = SessionState
# Where a rig's own lifecycle event puts its part.
RIG_STATES = {
    "session.initialized": S.INITIALIZED,
    "session.started": S.RUNNING,
    "session.stopped": S.STOPPED,
    "session.interrupted": S.INTERRUPTED,
}
_ORDER = [S.CREATED, S.INITIALIZED, S.RUNNING, S.STOPPED]
ENDED_BY_STATE = {"duration": S.STOPPED, "stop": S.STOPPED, "interrupt": S.INTERRUPTED, "cancelled": S.INTERRUPTED,
                  "error": S.FAILED}


def session_event_apply(rig: Rig, event: RigEvent) -> list[str]:
    """The applier of `session.` and `echo.` events; returns the exp_ref it changed."""
    exp_ref = event.data.get("exp_ref")
    session = session_for_exp_ref(exp_ref) if isinstance(exp_ref, str) and exp_ref else None
    if session is None:
        return []
    participant = _participant(session, rig)
    name, data = event.name, event.data
    if name in RIG_STATES:
        _rig_moves(participant, RIG_STATES[name])
        if name == "session.initialized" and isinstance(data.get("copy_state"), int):
            _copy_state(participant, data["copy_state"])
    elif name == "session.main_started":
        participant.is_main = True
        participant.save(update_fields=["is_main", "updated_at"])
        if session.duration is None and isinstance(data.get("duration"), int | float):
            session.duration = float(data["duration"])
            session.save(update_fields=["duration"])
    elif name == "session.main_running":
        _mark_main_sync(session, data.get("main_sync"))
    elif name == "session.main_ended":
        _main_ended(session, data, event)
    session_refresh(session, event.time)
    return [session.exp_ref]


def rig_restarted(rig: Rig, event: RigEvent) -> list[str]:
    """A rig's agent (re)started: whatever part it had in a session that is still going is lost."""
    touched = []
    parts = SessionRig.objects.filter(rig=rig, state__in=SessionState.active(), session__state__in=SessionState.active(),
                                      session__created_at__lt=event.time).select_related("session")
    for participant in parts:
        participant.state = S.INTERRUPTED
        participant.save(update_fields=["state", "updated_at"])
        session = participant.session
        if participant.is_main:
            _end(session, S.INTERRUPTED, "agent_restart", event.time,
                 f"the main rig {rig.name}'s agent restarted (killed or crashed) while the session ran")
        session_refresh(session, event.time)
        touched.append(session.exp_ref)
    return touched


def session_start_settled(command: Command) -> list[str]:
    """A session.start the main rig refused or never answered: the session never ran."""
    if command.state == CommandState.SUCCEEDED:
        return []
    session = Session.objects.filter(exp_ref=str((command.params or {}).get("exp_ref", ""))).first()
    if session is None or session.state != S.CREATED:
        return []
    why = command.error or "the main rig did not answer"
    _end(session, S.FAILED, "error", command.answered_at, f"{command.rig.name} could not start it: {why}")
    return [session.exp_ref]


def session_for_exp_ref(exp_ref: str) -> Session | None:
    """The session with this exp_ref, created (with its subject) when rigs report one the dashboard never made.

    The exp_ref came over the network: its subject must pass the same rules as a subject added in a form."""
    session = Session.objects.filter(exp_ref=exp_ref).first()
    if session is not None:
        return session
    try:
        ref = exp_ref_parse(exp_ref)
        subject_name_check(ref.subject)
    except (LayoutError, ValueError) as exc:
        log.warning("ignoring session %r reported by a rig: %s", exp_ref, exc)
        return None
    try:
        with transaction.atomic():
            subject, _ = Subject.objects.get_or_create(name=ref.subject)
            return Session.objects.create(subject=subject, date=ref.date, number=ref.number, exp_ref=exp_ref,
                                          origin=SessionOrigin.AGENT)
    except IntegrityError:  # another rig's event created it a moment ago
        return Session.objects.filter(exp_ref=exp_ref).first()


def session_refresh(session: Session, when) -> None:
    """The session's state from its rigs' parts, unless its main has ended it (its word is final)."""
    if session.state in SessionState.ended():
        return
    state = _state_of(list(session.participants.values_list("state", flat=True)))
    fields = []
    if state != session.state:
        session.state = state
        fields.append("state")
    if state == S.RUNNING and session.started_at is None:
        session.started_at = when
        fields.append("started_at")
    if state in SessionState.ended():
        session.ended_at = when
        fields.append("ended_at")
    if fields:
        session.save(update_fields=fields)


def _state_of(parts: Iterable[str]) -> str:
    parts = list(parts)
    if S.RUNNING in parts:
        return S.RUNNING
    if S.INITIALIZED in parts:
        return S.INITIALIZED
    if parts and all(p in SessionState.ended() for p in parts):
        return S.INTERRUPTED if S.INTERRUPTED in parts else S.STOPPED
    return S.CREATED


def _main_ended(session: Session, data: dict, event: RigEvent) -> None:
    ended_by = str(data.get("ended_by") or ("interrupt" if data.get("interrupted") else "stop"))
    state = S.FAILED if data.get("error") else ENDED_BY_STATE.get(ended_by, S.STOPPED)
    failures = data.get("failures") if isinstance(data.get("failures"), dict) else {}
    reasons = [str(data["error"])] if data.get("error") else []
    reasons += [f"{rig}: {why}" for rig, why in failures.items() if str(why) not in reasons[0:1]]
    _end(session, state, ended_by, event.time, "; ".join(reasons))


def _end(session: Session, state: str, ended_by: str, when, error: str) -> None:
    """The main's verdict: it overrides what the rigs' parts suggested, and nothing moves it afterwards."""
    session.state, session.ended_by = state, ended_by[:16]
    session.ended_at = session.ended_at or when
    if error:
        session.error = error[:10_000]
    session.save(update_fields=["state", "ended_by", "ended_at", "error"])


def _participant(session: Session, rig: Rig) -> SessionRig:
    try:
        with transaction.atomic():
            participant, _ = SessionRig.objects.get_or_create(session=session, rig=rig)
    except IntegrityError:
        participant = SessionRig.objects.get(session=session, rig=rig)
    return participant


def _rig_moves(participant: SessionRig, state: str) -> None:
    """A part only moves forward (a late or resent event never takes it back); interrupted and failed stick."""
    current = participant.state
    if current in (S.INTERRUPTED, S.FAILED):
        return
    if state in (S.INTERRUPTED, S.FAILED) or _ORDER.index(state) > _ORDER.index(current):
        participant.state = state
        participant.save(update_fields=["state", "updated_at"])


def _copy_state(participant: SessionRig, state: int) -> None:
    if state in CopyState.values and (participant.copy_state is None or state > participant.copy_state):
        participant.copy_state = state
        participant.save(update_fields=["copy_state", "updated_at"])


def _mark_main_sync(session: Session, rig_name) -> None:
    if isinstance(rig_name, str):
        rig = Rig.objects.filter(name=rig_name).first()
        if rig is not None:
            participant = _participant(session, rig)
            participant.is_main_sync = True
            participant.save(update_fields=["is_main_sync", "updated_at"])
