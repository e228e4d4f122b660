"""Writes that change subjects and sessions: the records app's business rules live here, not in save() or signals."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from labweb.fleet.commands import CommandRefused, command_send
from labweb.fleet.models import Rig
from rigs.layout import SessionRef

from .choices import SessionOrigin, SessionState
from .models import Session, SessionRig, Subject
from .selectors import sessions_holding

log = logging.getLogger(__name__)

SESSION_NUMBER_ATTEMPTS = 20


def subject_create(*, name: str, **fields) -> Subject:
    subject = Subject(name=name, **fields)
    subject.full_clean()
    subject.save()
    return subject


def session_create(
    *,
    subject: Subject,
    date: dt.date | None = None,
    created_by: AbstractBaseUser | None = None,
    origin: str = SessionOrigin.DASHBOARD,
    rigs: Iterable[Rig] = (),
    main_rig: Rig | None = None,
) -> Session:
    """Create a session with the next free number for its subject and date.

    The number comes from the database: two requests racing for the same subject and date both try to insert,
    the unique constraint lets exactly one win, and the loser retries with the next number.
    """
    date = date or timezone.localdate()
    for _ in range(SESSION_NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():
                last = Session.objects.filter(subject=subject, date=date).aggregate(n=Max("number"))["n"] or 0
                session = Session.objects.create(
                    subject=subject,
                    date=date,
                    number=last + 1,
                    exp_ref=SessionRef(subject=subject.name, date=date, number=last + 1).exp_ref,
                    origin=origin,
                    created_by=created_by,
                )
                for rig in rigs:
                    SessionRig.objects.create(session=session, rig=rig, is_main=(rig == main_rig))
                return session
        except IntegrityError:
            continue
    raise IntegrityError(f"could not allocate a session number for {subject} on {date} after {SESSION_NUMBER_ATTEMPTS} tries")


def session_reserve(*, subject: Subject, date: dt.date | None = None,
                    reserved_by: AbstractBaseUser | None = None) -> Session:
    """Hand out the next session number for a subject and date, for a session that a program outside the dashboard
    will run (iblrig's main PC asks Alyx for one the same way).

    The number is allocated as session_create allocates it; the session holds no rig and says it is only a reserved
    number ("Number reserved") until a rig reports a session under its exp_ref, which then takes it over.
    """
    with transaction.atomic():  # nobody ever sees it as an ordinary Created session
        session = session_create(subject=subject, date=date, created_by=reserved_by)
        session.state = SessionState.RESERVED
        session.save(update_fields=["state"])
    return session


class SessionRefused(Exception):
    """A session that cannot start; `reasons` maps the field at fault (rigs, main, ...) to why, in plain words."""

    def __init__(self, reasons: dict[str, str]) -> None:
        super().__init__("; ".join(reasons.values()))
        self.reasons = reasons


def session_start_refusals(*, rigs: Iterable[Rig], main: Rig | None) -> dict[str, str]:
    """Why these rigs cannot start a session now (empty when they can): offline rigs, rigs another session holds,
    a main rig without a session part."""
    rigs = list(rigs)
    reasons: dict[str, str] = {}
    offline = [rig.name for rig in rigs if not rig.online]
    held = sessions_holding(rigs=rigs)
    busy = [f"{rig.name} (in {held[rig.pk].exp_ref})" for rig in rigs if rig.pk in held]
    problems = []
    if offline:
        problems.append(f"offline: {', '.join(offline)}")
    if busy:
        problems.append(f"already in a session: {', '.join(busy)}")
    if problems:
        reasons["rigs"] = "These rigs cannot take part: " + "; ".join(problems) + "."
    shared = _shared_tags(rigs)
    if shared and "rigs" not in reasons:
        reasons["rigs"] = (f"{shared}: on the server their copies would overwrite each other's. Give each its own "
                           "`tag:` in its rig.yaml (e.g. video_left, video_right).")
    if main is not None and "session.start" not in (main.capabilities or []):
        reasons["main"] = f"{main.name} cannot lead a session (its agent runs no session part)."
    return reasons


def _shared_tags(rigs: list[Rig]) -> str:
    """Rigs of one session that would register under the same device tag, in words ('' when none do)."""
    by_tag: dict[str, list[str]] = {}
    for rig in rigs:
        by_tag.setdefault(rig.tag or rig.kind, []).append(rig.name)
    clashes = [f"{' and '.join(names)} are all '{tag}' devices" for tag, names in by_tag.items() if len(names) > 1]
    return "; ".join(clashes)


def session_start(*, user: AbstractBaseUser, subject: Subject, rigs: Iterable[Rig], main: Rig, main_sync: Rig,
                  duration: float | None = None) -> Session:
    """Record a session (the database gives its number) and ask its main rig to run it on every rig.

    Refused (SessionRefused, nothing recorded) when a rig is offline or held by another session; checked again
    here, with the rigs locked, because two operators may press Start at once. A start the main rig refuses is
    recorded as a refused command and a failed session.
    """
    rigs = list(rigs)
    with transaction.atomic():
        locked = list(Rig.objects.select_for_update().filter(pk__in=[rig.pk for rig in rigs]).order_by("pk"))
        reasons = session_start_refusals(rigs=locked, main=next((r for r in locked if r.pk == main.pk), main))
        if reasons:
            raise SessionRefused(reasons)
        session = session_create(subject=subject, created_by=user, rigs=rigs, main_rig=main)
        session.participants.filter(rig=main_sync).update(is_main_sync=True)
        if duration:
            session.duration = float(duration)
            session.save(update_fields=["duration"])
    params = {"subject": subject.name, "exp_ref": session.exp_ref, "main_sync": main_sync.name,
              "rigs": {rig.name: rig.echo_uri for rig in rigs}}
    if duration:
        params["duration"] = float(duration)
    try:
        command_send(user=user, rig=main, action="session.start", params=params)
    except CommandRefused as refused:
        Session.objects.filter(pk=session.pk).update(state=SessionState.FAILED, ended_by="error",
                                                      error=f"{main.name} refused to start it: {refused}")
        session.refresh_from_db()
    return session


def session_end(*, user: AbstractBaseUser, session: Session, interrupt: bool = False) -> None:
    """Ask the session's main rig to end it: stop (EXPEND) or interrupt (EXPINTERRUPT). CommandRefused says why
    not (a viewer, an offline main rig)."""
    main = session.participants.filter(is_main=True).select_related("rig").first()
    if main is None:
        raise SessionRefused({"main": "This session has no main rig to end it through (an iblrig main ends it)."})
    if session.state not in SessionState.active():
        raise SessionRefused({"state": f"Session {session.exp_ref} has already ended ({session.get_state_display()})."})
    action = "session.interrupt" if interrupt else "session.stop"
    command_send(user=user, rig=main.rig, action=action, params={"exp_ref": session.exp_ref})
