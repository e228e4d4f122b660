"""Writes that change subjects and sessions: the records app's business rules live here, not in save() or signals."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from labweb.fleet.models import Rig

from .choices import SessionOrigin
from .models import Session, SessionRig, Subject

log = logging.getLogger(__name__)

SESSION_NUMBER_ATTEMPTS = 20


def subject_create(*, name: str, **fields) -> Subject:
    subject = Subject(name=name, **fields)
    subject.full_clean()
    subject.save()
    return subject


def exp_ref_format(*, date: dt.date, number: int, subject_name: str) -> str:
    return f"{date.isoformat()}_{number}_{subject_name}"


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
                    exp_ref=exp_ref_format(date=date, number=last + 1, subject_name=subject.name),
                    origin=origin,
                    created_by=created_by,
                )
                for rig in rigs:
                    SessionRig.objects.create(session=session, rig=rig, is_main=(rig == main_rig))
                return session
        except IntegrityError:
            continue
    raise IntegrityError(f"could not allocate a session number for {subject} on {date} after {SESSION_NUMBER_ATTEMPTS} tries")
