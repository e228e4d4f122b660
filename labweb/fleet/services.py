"""Writes that change the fleet's records: the registry, commands and the rigs' durable events."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from rigs.messages import COMMAND_ACTIONS

from .choices import CommandState
from .events import command_outcome_apply, events_apply
from .models import Command, Rig, RigEvent
from .tokens import token_hash, token_new

log = logging.getLogger(__name__)


class CommandRefused(Exception):
    """A command that was recorded as refused; the text is what the user is told."""

    def __init__(self, command: Command):
        super().__init__(command.error)
        self.command = command


def rig_create(*, name: str, kind: str = "video", echo_uri: str = "", location: str = "") -> tuple[Rig, str]:
    """Register a rig and return it with its agent token, which is never stored and cannot be shown again."""
    token = token_new()
    rig = Rig(name=name, kind=kind, echo_uri=echo_uri, location=location, token_hash=token_hash(token),
              token_created_at=timezone.now())
    rig.full_clean()
    rig.save()
    return rig, token


def rig_token_rotate(*, rig: Rig) -> str:
    """Give the rig a new token; the old one stops working at once (its connected agent is dropped by the caller)."""
    token = token_new()
    rig.token_hash = token_hash(token)
    rig.token_created_at = timezone.now()
    rig.save(update_fields=["token_hash", "token_created_at"])
    return token


def rig_token_revoke(*, rig: Rig) -> None:
    rig.token_hash = ""
    rig.save(update_fields=["token_hash"])


def rig_authenticate(token: str) -> Rig | None:
    if not token:
        return None
    return Rig.objects.filter(token_hash=token_hash(token)).exclude(token_hash="").first()


def rigs_import(*, mapping: Mapping[str, str], kind: str = "video") -> list[tuple[Rig, str | None]]:
    """Take iblrig's flat `name: URI` map; new rigs get a token (returned), known rigs get their URI updated."""
    out: list[tuple[Rig, str | None]] = []
    with transaction.atomic():
        for name, uri in mapping.items():
            rig = Rig.objects.filter(name=name).first()
            if rig is None:
                out.append(rig_create(name=str(name), kind=kind, echo_uri=str(uri)))
            else:
                rig.echo_uri = str(uri)
                rig.full_clean()
                rig.save(update_fields=["echo_uri"])
                out.append((rig, None))
    return out


def rig_mark_connected(*, rig: Rig, hello: Mapping) -> int:
    """Record an agent's hello; returns the highest event seq stored for the rig (the agent continues after it)."""
    Rig.objects.filter(pk=rig.pk).update(
        online=True,
        last_seen=timezone.now(),
        version=str(hello.get("version", ""))[:32],
        tag=str(hello.get("tag") or hello.get("kind") or "")[:32],
        hostname=str(hello.get("hostname", ""))[:255],
        capabilities=list(hello.get("capabilities", [])),
    )
    return RigEvent.objects.filter(rig=rig).aggregate(n=Max("seq"))["n"] or 0


def rig_mark_offline(*, rig_ids: Iterable[int]) -> None:
    Rig.objects.filter(pk__in=list(rig_ids)).update(online=False)


def rigs_touch(*, seen: Mapping[int, tuple[dt.datetime, dict]]) -> None:
    """Save last_seen and the latest status of many rigs in one transaction (called every few seconds)."""
    with transaction.atomic():
        for rig_id, (when, status) in seen.items():
            Rig.objects.filter(pk=rig_id).update(last_seen=when, last_status=status, online=True)


def command_issue(*, user: AbstractBaseUser | None, rig: Rig, action: str, params: dict | None = None) -> Command:
    """Record a command; it is refused (and recorded as such) when the user may not operate or the rig is away.

    Raises CommandRefused with the reason; the caller sends the returned command to the rig otherwise.
    """
    command = Command(rig=rig, action=action, params=params or {}, issued_by=user)
    reason = _command_refusal(user=user, rig=rig, action=action)
    if reason:
        command.state = CommandState.REFUSED
        command.error = reason
        command.answered_at = timezone.now()
        command.save()
        log.info("command %s to %s refused for %s: %s", action, rig, user, reason)
        raise CommandRefused(command)
    command.state = CommandState.SENT
    command.save()
    return command


def _command_refusal(*, user, rig: Rig, action: str) -> str:
    if user is None or not user.is_authenticated:
        return "You must be logged in to send commands."
    if not user.has_perm("fleet.send_command"):
        return f"{user.get_username()} is a viewer: only operators may send commands to rigs."
    if action not in COMMAND_ACTIONS:
        return f"Unknown action {action!r}."
    if not rig.online:
        return f"Rig {rig.name} is offline."
    return ""


def command_record_reply(*, rig: Rig, command_id: str, ok: bool, result: dict | None,
                         error: str | None) -> Command | None:
    """Store the agent's answer and tell the listeners of its action; None when no open command of this rig has
    that id (a late or forged reply)."""
    with transaction.atomic():
        try:
            updated = Command.objects.filter(pk=command_id, rig=rig, state=CommandState.SENT).update(
                state=CommandState.SUCCEEDED if ok else CommandState.FAILED,
                result=result,
                error=(error or "")[:10_000],
                answered_at=timezone.now(),
            )
        except ValidationError:  # not a UUID
            return None
        if not updated:
            return None
        command = Command.objects.select_related("rig", "issued_by").get(pk=command_id)
        command_outcome_apply(command)
    return command


def commands_expire(*, older_than: dt.datetime) -> list[Command]:
    """Record commands that got no answer in time, so nobody waits on them forever."""
    with transaction.atomic():
        stale = list(Command.objects.filter(state=CommandState.SENT, issued_at__lt=older_than).select_related("rig"))
        if not stale:
            return []
        Command.objects.filter(pk__in=[c.pk for c in stale], state=CommandState.SENT).update(
            state=CommandState.UNANSWERED, error="The rig did not answer in time.", answered_at=timezone.now()
        )
        expired = list(Command.objects.filter(pk__in=[c.pk for c in stale]).select_related("rig", "issued_by"))
        for command in expired:
            command_outcome_apply(command)
    return expired


@dataclass(frozen=True)
class StoredEvents:
    """What storing a batch did: the seqs now safely on disk (to be acked), the sessions the events changed."""

    seqs: list[int]
    sessions: frozenset[str] = frozenset()


def events_store(*, rig: Rig, events: Iterable[Mapping]) -> StoredEvents:
    """Store events idempotently (unique rig+seq); the seqs now safely on disk, to be acked.

    Events seen for the first time are turned into records (sessions, spool runs, transfers) in the same
    transaction, so a resent event is neither stored nor applied twice.
    """
    rows = {
        int(event["seq"]): RigEvent(
            rig=rig,
            seq=int(event["seq"]),
            name=str(event["name"]),
            time=dt.datetime.fromtimestamp(float(event["time"]), tz=dt.timezone.utc),
            data=dict(event.get("data") or {}),
        )
        for event in events
    }
    if not rows:
        return StoredEvents([])
    with transaction.atomic():
        known = set(RigEvent.objects.filter(rig=rig, seq__in=list(rows)).values_list("seq", flat=True))
        new = [row for seq, row in sorted(rows.items()) if seq not in known]
        RigEvent.objects.bulk_create(new, ignore_conflicts=True)
        sessions = events_apply(rig=rig, events=new)
    return StoredEvents(list(rows), frozenset(sessions))
