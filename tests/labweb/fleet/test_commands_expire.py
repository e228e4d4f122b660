"""Unanswered commands expire once: every dashboard process runs the expiry, and a second run (or process) finds
nothing left to expire."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command
from labweb.fleet.services import commands_expire, rig_create

pytestmark = pytest.mark.django_db


def test_a_command_without_an_answer_expires_once():
    rig, _ = rig_create(name="cam-left")
    old = Command.objects.create(rig=rig, action="spool.start", state=CommandState.SENT)
    new = Command.objects.create(rig=rig, action="spool.stop", state=CommandState.SENT)
    Command.objects.filter(pk=old.pk).update(issued_at=timezone.now() - dt.timedelta(seconds=60))
    cutoff = timezone.now() - dt.timedelta(seconds=30)
    assert [c.pk for c in commands_expire(older_than=cutoff)] == [old.pk]
    assert commands_expire(older_than=cutoff) == []  # another process, a moment later
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, new.state) == (CommandState.UNANSWERED, CommandState.SENT)
