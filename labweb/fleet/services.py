"""Writes that change the fleet's records: the registry, commands and the rigs' durable events."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError, OperationalError, connections, transaction
from django.db.models import Max
from django.utils import timezone

from rigs.jsonbounds import JSONBoundsError, check, compact, normalise
from rigs.messages import COMMAND_ACTIONS

from .choices import CommandState
from .events import command_outcome_apply, events_apply
from .models import Command, Rig, RigEvent
from .tokens import token_hash, token_new

log = logging.getLogger(__name__)

# A command's parameters are a few settings; past this they are refused and not stored (a viewer could otherwise
# write a megabyte per refused command).
MAX_COMMAND_PARAMS_BYTES = 16 * 1024
# Refused commands recorded per user per minute; past this a refusal is answered but not recorded.
MAX_REFUSED_PER_MINUTE = 20
QUARANTINED_EVENT = "event.quarantined"


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
    """Save last_seen and the latest status of many rigs in one transaction (called every few seconds).

    One prepared statement run for all of them (executemany), not a query built per rig: a thousand rigs' updates
    every 2 s held the dashboard's database thread, and the GIL the relay's event loop needs, for a tenth of its
    time (and bulk_update, building a CASE per field per rig, for more)."""
    if not seen:
        return
    connection = connections[Rig.objects.db]
    fields = {name: Rig._meta.get_field(name) for name in ("last_seen", "last_status", "online", "id")}
    columns = {name: connection.ops.quote_name(field.column) for name, field in fields.items()}
    sql = (f"UPDATE {connection.ops.quote_name(Rig._meta.db_table)} SET {columns['last_seen']} = %s, "
           f"{columns['last_status']} = %s, {columns['online']} = %s WHERE {columns['id']} = %s")
    rows = [(fields["last_seen"].get_db_prep_value(when, connection),
             fields["last_status"].get_db_prep_value(status, connection), True, rig_id)
            for rig_id, (when, status) in seen.items()]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def command_issue(*, user: AbstractBaseUser | None, rig: Rig, action: str, params: dict | None = None) -> Command:
    """Record a command; it is refused (and recorded as such) when the user may not operate or the rig is away.

    Raises CommandRefused with the reason; the caller sends the returned command to the rig otherwise.
    """
    params_problem = command_params_problem(params)
    command = Command(rig=rig, action=str(action)[:32], params={} if params_problem else (params or {}),
                      issued_by=user if user is not None and user.is_authenticated else None)
    reason = _command_refusal(user=user, rig=rig, action=action) or params_problem
    if reason:
        command.state = CommandState.REFUSED
        command.error = reason
        command.answered_at = timezone.now()
        if _refusals_recorded_lately(command.issued_by) < MAX_REFUSED_PER_MINUTE:
            command.save()
        else:  # answered, not recorded: refusals must not fill the database
            command.error = f"{reason} (Too many refused commands in the last minute: this one was not recorded.)"
        log.info("command %s to %s refused for %s: %s", str(action)[:32], rig, user, reason)
        raise CommandRefused(command)
    command.state = CommandState.SENT
    command.save()
    return command


def command_params_problem(params) -> str:
    """Why a command's parameters cannot be sent to a rig (not an object, too big, NaN...); "" when they can."""
    if params is None:
        return ""
    if not isinstance(params, dict):
        return "Parameters must be an object."
    try:
        check(params)
        size = len(compact(params))
    except (JSONBoundsError, ValueError, TypeError) as exc:
        return f"Parameters cannot be sent to a rig: {exc}."
    if size > MAX_COMMAND_PARAMS_BYTES:
        return f"Parameters of {size} bytes are over the limit of {MAX_COMMAND_PARAMS_BYTES}."
    return ""


def _refusals_recorded_lately(user) -> int:
    since = timezone.now() - dt.timedelta(minutes=1)
    return Command.objects.filter(issued_by=user, state=CommandState.REFUSED, issued_at__gte=since).count()


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
    """Record commands that got no answer in time, so nobody waits on them forever.

    Every dashboard process runs this; the rows are locked as they are read (skip_locked), so two processes never
    expire, and apply the outcome of, one command twice."""
    with transaction.atomic():
        stale = list(Command.objects.select_for_update(skip_locked=True, of=("self",))
                     .filter(state=CommandState.SENT, issued_at__lt=older_than).select_related("rig"))
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


def events_store(*, rig: Rig, events: Iterable[Mapping], rejected: dict[int, str] | None = None) -> StoredEvents:
    """Store events idempotently (unique rig+seq); the seqs now safely on disk (to be acked) and the sessions
    the events changed.

    Events seen for the first time are turned into records (sessions, spool runs, transfers) in the same
    transaction, so a resent event is neither stored nor applied twice. An event the database cannot store
    (a NUL in PostgreSQL text, a time out of range...) does not fail its batch: it is stored as an
    `event.quarantined` record with the reason (and acked); one that not even that can hold (its seq itself is
    out of range) is left out of the acks and named in `rejected` with the reason, for the agent to keep.
    A database that is down or locked still fails the whole batch (nothing is acked; the agent resends).
    """
    rows: dict[int, RigEvent] = {}
    for event in events:
        try:
            seq = int(event["seq"])
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("rig %s: an event without a usable seq was dropped: %s", rig, exc)
            continue
        rows[seq] = _event_row(rig, seq, event)
    if not rows:
        return StoredEvents([])
    with transaction.atomic():
        known = set(RigEvent.objects.filter(rig=rig, seq__in=[s for s in rows if _seq_fits(s)])
                    .values_list("seq", flat=True))
        new = [row for seq, row in sorted(rows.items()) if seq not in known]
        try:
            with transaction.atomic():
                RigEvent.objects.bulk_create(new, ignore_conflicts=True)
            saved = new
        except OperationalError:
            raise
        except (DatabaseError, ValueError, OverflowError):
            saved = _events_store_one_by_one(rig, new, rejected)  # the fast path failed: find which
        sessions = events_apply(rig=rig, events=[row for row in saved if row.name != QUARANTINED_EVENT])
        on_disk = known | {row.seq for row in saved}
    return StoredEvents([seq for seq in rows if seq in on_disk], frozenset(sessions))


def _seq_fits(seq: int) -> bool:
    return -(2**63) <= seq < 2**63


def _event_row(rig: Rig, seq: int, event: Mapping) -> RigEvent:
    """The record of one event; an event whose fields cannot even be read becomes a quarantine record."""
    try:
        return RigEvent(rig=rig, seq=seq, name=str(event["name"])[:64],
                        time=dt.datetime.fromtimestamp(float(event["time"]), tz=dt.UTC),
                        data=dict(event.get("data") or {}))
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        return _quarantine_row(rig, seq, event, f"{type(exc).__name__}: {exc}")


def _quarantine_row(rig: Rig, seq: int, event: Mapping, reason: str) -> RigEvent:
    log.warning("rig %s: event %s %r quarantined: %s", rig, seq, str(event.get("name"))[:64], reason)
    return RigEvent(rig=rig, seq=seq, name=QUARANTINED_EVENT, time=timezone.now(), data={
        "name": normalise(str(event.get("name"))[:64]), "reason": normalise(reason[:1000]),
        "time": normalise(event.get("time")), "data": normalise(event.get("data"), max_string=4096),
    })


def _events_store_one_by_one(rig: Rig, rows: list[RigEvent], rejected: dict[int, str] | None) -> list[RigEvent]:
    """Save each event in its own savepoint; what fails is stored as a quarantine record, or rejected."""
    saved: list[RigEvent] = []
    for row in rows:
        problem = _save(row)
        if not problem:
            saved.append(row)
            continue
        substitute = _quarantine_row(rig, row.seq, {"name": row.name, "time": row.time.timestamp(), "data": row.data},
                                     problem)
        if row.name != QUARANTINED_EVENT and not _save(substitute):
            saved.append(substitute)
            continue
        log.error("rig %s: event %s cannot be stored at all: %s", rig, row.seq, problem)
        if rejected is not None:
            rejected[row.seq] = problem[:500]
    return saved


def _save(row: RigEvent) -> str:
    """Insert one event in a savepoint; "" when stored, else what the database said. A database that is down or
    locked is not the event's fault: OperationalError goes up and fails the batch (nothing acked)."""
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except OperationalError:
        raise
    except (DatabaseError, ValueError, OverflowError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""
