"""The alert rules: each looks at the rigs' latest statuses and the records, and says which conditions hold now.

A rule is a plain function of a `Look` (one consistent read of the rigs, made once per check) and its threshold;
it returns the conditions that hold, and the rigs it cannot judge now (an offline rig's disk is not known, so its
disk alert neither opens nor resolves). Opening, resolving and notifying are services.alerts_evaluate's business.

Where the figures come from: Rig.last_status and last_seen (saved by the live board every 2 s, whichever
dashboard process holds the agent), and the spool, transfer and session records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from labweb.fleet import presence
from labweb.fleet.models import Rig
from labweb.records.choices import CopyState, SessionState
from labweb.records.models import Session
from labweb.spooling.choices import SpoolOutcome
from labweb.spooling.models import SpoolRun
from labweb.transfers.choices import TransferOutcome
from labweb.transfers.models import Transfer

from .choices import AlertKind
from .models import Alert, Watch

GB = 1e9
# Records that failed longer ago than this do not open an alert (so a new install does not alert on old history);
# an alert that is open stays open until its condition clears, however old.
LOOKBACK = dt.timedelta(days=3)
# The agent field the echo_refused rule reads: the count of echo datagrams refused from peers not on the rig's
# allow-list, in the session part of the status. The agent does not report it yet (another change adds the
# counter); a plain integer or the allow-list's stats() object {"refused": n, ...} are both understood.
ECHO_REFUSED_FIELD = ("session", "echo_refused")


@dataclass(frozen=True)
class Finding:
    """A condition that holds now: which rule, which rig (None: a session-wide one), about what, in words."""

    kind: str
    rig_id: int | None
    key: str
    title: str
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Look:
    """One read of the rigs for a whole check: every rule sees the same moment."""

    now: dt.datetime
    rigs: list[Rig]
    _watches: dict[tuple[int, str], Watch] | None = None

    def watch(self, rig: Rig, name: str) -> Watch | None:
        """The rig's watched figure, from one read of them all per check (a check touches every rig)."""
        if self._watches is None:
            self._watches = {(w.rig_id, w.name): w for w in Watch.objects.all()}
        return self._watches.get((rig.pk, name))

    def forget(self, rig: Rig, name: str) -> None:
        watch = self.watch(rig, name)
        if watch is not None:
            watch.delete()
            del self._watches[(rig.pk, name)]

    def online(self) -> list[Rig]:
        since = presence.fresh_after(self.now)
        return [r for r in self.rigs if presence.rig_is_online(r, since=since)]

    def not_online(self) -> set[int]:
        fresh = {r.pk for r in self.online()}
        return {r.pk for r in self.rigs if r.pk not in fresh}


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    undecided: set[int] = field(default_factory=set)  # rig ids whose alerts of this kind stay as they are


Check = Callable[[Look, float], Outcome]


@dataclass(frozen=True)
class RuleSpec:
    kind: str
    setting: str | None  # the settings name of its threshold (None: it has none)
    unit: str
    description: str
    check: Check


def look_now() -> Look:
    return Look(now=timezone.now(), rigs=list(Rig.objects.all()))


# -- the rules ----------------------------------------------------------------------------------------------------
def rig_offline(look: Look, minutes: float) -> Outcome:
    cutoff = look.now - dt.timedelta(minutes=minutes)
    out = Outcome()
    for rig in look.rigs:
        if rig.out_of_service or rig.last_seen is None or rig.last_seen >= cutoff:
            continue  # never seen: not in use yet; out of service: a planned absence
        silent = (look.now - rig.last_seen).total_seconds()
        out.findings.append(Finding(AlertKind.RIG_OFFLINE, rig.pk, "", f"{rig.name} offline for {_span(silent)}",
                                    f"Last heard at {rig.last_seen:%Y-%m-%d %H:%M:%S %Z}.",
                                    {"last_seen": rig.last_seen.timestamp(), "silent_s": round(silent)}))
    return out


def disk_low(look: Look, gb: float) -> Outcome:
    out = Outcome(undecided=look.not_online())
    for rig in look.online():
        disk = _part(rig, "disk")
        free = _number(disk.get("free"))
        if free is not None and free < gb * GB:
            out.findings.append(Finding(AlertKind.DISK_LOW, rig.pk, "", f"{rig.name}: {_size(free)} free on its data disk",
                                        f"Below the {gb:g} GB limit ({disk.get('path') or 'data disk'}).",
                                        {"free": free, "total": disk.get("total"), "limit_gb": gb}))
    return out


def disk_full_soon(look: Look, hours: float) -> Outcome:
    out = Outcome(undecided=look.not_online())
    for rig in look.online():
        free = _number(_part(rig, "disk").get("free"))
        rate = write_rate(rig)
        if free is None or rate <= 0:
            continue
        seconds = free / rate
        if seconds < hours * 3600:
            out.findings.append(Finding(
                AlertKind.DISK_FULL_SOON, rig.pk, "",
                f"{rig.name}: data disk full in {_span(seconds)} at {rate / 1e6:.1f} MB/s",
                f"{_size(free)} free; the limit is {hours:g} h.",
                {"free": free, "rate": rate, "seconds_to_full": round(seconds), "limit_hours": hours}))
    return out


def frames_dropped(look: Look, quiet_minutes: float) -> Outcome:
    """Frames dropped in a running series; clears when the series ends or drops no frame for `quiet_minutes`."""
    out = Outcome(undecided=look.not_online())
    for rig in look.online():
        spool = _part(rig, "spool")
        if not spool.get("active") or not spool.get("file"):
            look.forget(rig, "drops")
            continue
        dropped = int(_number(spool.get("dropped")) or 0)
        watch = watch_counter(look, rig, "drops", key=str(spool["file"]), value=dropped)
        if dropped and _recent(watch, look.now, quiet_minutes):
            name = _file_name(spool["file"])
            out.findings.append(Finding(AlertKind.FRAMES_DROPPED, rig.pk, str(spool["file"]),
                                        f"{rig.name}: {dropped} frames dropped in {name}",
                                        f"Queue {100 * (_number(spool.get('queue_fill')) or 0):.0f}% full.",
                                        {"dropped": dropped, "file": spool["file"], "frames": spool.get("frames")}))
    return out


def spool_failed(look: Look, _threshold: float) -> Outcome:
    """The rig's latest series failed; clears when the rig starts another one."""
    out = Outcome()
    open_keys = _open_keys(AlertKind.SPOOL_FAILED)
    runs = SpoolRun.objects.filter(outcome=SpoolOutcome.FAILED).filter(
        Q(ended_at__gte=look.now - LOOKBACK) | Q(pk__in=[int(k) for _, k in open_keys if k.isdigit()])
    ).select_related("rig")
    for run in runs:
        newer = SpoolRun.objects.filter(rig=run.rig, pk__gt=run.pk).exclude(outcome=SpoolOutcome.REFUSED)
        if newer.exists():
            continue
        error = run.error or run.reason or "no reason given"
        out.findings.append(Finding(AlertKind.SPOOL_FAILED, run.rig_id, str(run.pk),
                                    f"{run.rig.name}: series {run.file_name} failed", error[:2000],
                                    {"file": run.file, "frames": run.frames, "reason": run.reason}))
    return out


def copy_failed(look: Look, _threshold: float) -> Outcome:
    """The rig's latest copy of a session failed; clears when a later copy of it succeeds."""
    out = Outcome()
    open_keys = _open_keys(AlertKind.COPY_FAILED)
    failed = Transfer.objects.filter(outcome=TransferOutcome.FAILED).filter(
        Q(created_at__gte=look.now - LOOKBACK) | Q(exp_ref__in=[k for _, k in open_keys])
    ).select_related("rig").order_by("pk")
    latest: dict[tuple[int, str], Transfer] = {}
    for transfer in failed:
        latest[(transfer.rig_id, transfer.exp_ref or transfer.transfer_id)] = transfer
    for (rig_id, key), transfer in latest.items():
        later = Transfer.objects.filter(rig_id=rig_id, pk__gt=transfer.pk, outcome__in=TransferOutcome.succeeded())
        if transfer.exp_ref:
            later = later.filter(exp_ref=transfer.exp_ref)
        else:
            later = later.filter(transfer_id=transfer.transfer_id)
        if later.exists():
            continue
        out.findings.append(Finding(AlertKind.COPY_FAILED, rig_id, key,
                                    f"{transfer.rig.name}: copy of {key} failed", (transfer.error or "")[:2000],
                                    {"transfer_id": transfer.transfer_id, "error": (transfer.error or "")[:500]}))
    return out


def session_unfinalized(look: Look, hours: float) -> Outcome:
    """A session that ended `hours` ago is still not finalized on the server: one alert per rig whose copy is not
    complete (or one for the session when every copy is complete but nothing finalized it)."""
    out = Outcome()
    open_keys = {key for _, key in _open_keys(AlertKind.SESSION_UNFINALIZED)}
    sessions = Session.objects.filter(
        finalized_at__isnull=True, ended_at__lt=look.now - dt.timedelta(hours=hours),
        state__in=[SessionState.STOPPED, SessionState.INTERRUPTED],
    ).filter(Q(ended_at__gte=look.now - LOOKBACK - dt.timedelta(hours=hours)) | Q(exp_ref__in=open_keys))
    for session in sessions.prefetch_related("participants__rig"):
        waited = (look.now - session.ended_at).total_seconds()
        behind = [p for p in session.participants.all() if p.copy_state not in (CopyState.COMPLETE, CopyState.FINALIZED)]
        for part in behind or [None]:
            rig_id = part.rig_id if part else None
            where = f" ({part.rig.name}: {part.get_copy_state_display() if part.copy_state is not None else 'no copy reported'})" if part else ""
            out.findings.append(Finding(
                AlertKind.SESSION_UNFINALIZED, rig_id, session.exp_ref,
                f"{session.exp_ref} not finalized {_span(waited)} after it ended{where}",
                "Its data have not all reached the server." if part else "Every copy is complete, yet nothing "
                "finalized the session on the server.",
                {"ended_at": session.ended_at.timestamp(), "copy_state": part.copy_state if part else None}))
    return out


def copy_stalled(look: Look, minutes: float) -> Outcome:
    """A copy under way moved no byte for `minutes`."""
    out = Outcome(undecided=look.not_online())
    for rig in look.online():
        transfer = _part(rig, "transfer")
        if not transfer.get("active"):
            look.forget(rig, "copy")
            continue
        key = str(transfer.get("exp_ref") or "")
        done = int(_number(transfer.get("bytes_done")) or 0)
        watch = watch_progress(look, rig, "copy", key=key, value=done)
        still = (look.now - watch.changed_at).total_seconds()
        if still >= minutes * 60:
            out.findings.append(Finding(AlertKind.COPY_STALLED, rig.pk, key,
                                        f"{rig.name}: copy of {key or 'a session'} stalled for {_span(still)}",
                                        f"{done / 1e6:.0f} of {(_number(transfer.get('bytes_total')) or 0) / 1e6:.0f} MB "
                                        f"copied; nothing moved since {watch.changed_at:%H:%M:%S %Z}.",
                                        {"bytes_done": done, "since": watch.changed_at.timestamp()}))
    return out


def clock_skew(look: Look, seconds: float) -> Outcome:
    """The rig's clock (its status `time`) against the dashboard's (when that status arrived)."""
    out = Outcome(undecided=look.not_online())
    for rig in look.online():
        offset = clock_offset(rig)
        if offset is not None and abs(offset) > seconds:
            way = "behind" if offset > 0 else "ahead of"
            out.findings.append(Finding(AlertKind.CLOCK_SKEW, rig.pk, "",
                                        f"{rig.name}: its clock is {abs(offset):.1f} s {way} the dashboard's",
                                        f"More than {seconds:g} s: its event times are off by as much.",
                                        {"offset_s": round(offset, 3)}))
    return out


def echo_refused(look: Look, quiet_minutes: float) -> Outcome:
    """Echo datagrams refused from peers the rig does not know; clears after `quiet_minutes` without one."""
    out = Outcome(undecided=look.not_online())
    for rig in look.online():
        refused = echo_refused_count(rig)
        if refused is None:
            continue
        watch = watch_counter(look, rig, "echo_refused", key="", value=refused)
        if refused and _recent(watch, look.now, quiet_minutes):
            out.findings.append(Finding(AlertKind.ECHO_REFUSED, rig.pk, "",
                                        f"{rig.name}: {refused} echo packets refused from unknown peers",
                                        "Something on the network sends to the rig's echo port without being on "
                                        "its allow-list.", {"refused": refused}))
    return out


RULES: dict[str, RuleSpec] = {spec.kind: spec for spec in (
    RuleSpec(AlertKind.RIG_OFFLINE, "LABWEB_ALERT_RIG_OFFLINE_MINUTES", "minutes",
             "A rig not heard for this long (not when it is marked out of service).", rig_offline),
    RuleSpec(AlertKind.DISK_LOW, "LABWEB_ALERT_DISK_FREE_GB", "GB", "Free space on a rig's data disk below this.",
             disk_low),
    RuleSpec(AlertKind.DISK_FULL_SOON, "LABWEB_ALERT_DISK_FULL_HOURS", "hours",
             "A rig's data disk full within this time at its current write rate.", disk_full_soon),
    RuleSpec(AlertKind.FRAMES_DROPPED, "LABWEB_ALERT_DROPS_QUIET_MINUTES", "minutes",
             "Frames dropped in a running series; resolves when the series ends or drops none for this long.",
             frames_dropped),
    RuleSpec(AlertKind.SPOOL_FAILED, None, "", "A rig's latest series failed; resolves when it spools again.",
             spool_failed),
    RuleSpec(AlertKind.COPY_FAILED, None, "", "A copy of a session failed; resolves when a later copy succeeds.",
             copy_failed),
    RuleSpec(AlertKind.SESSION_UNFINALIZED, "LABWEB_ALERT_FINALIZE_HOURS", "hours",
             "A session not finalized on the server this long after it ended.", session_unfinalized),
    RuleSpec(AlertKind.COPY_STALLED, "LABWEB_ALERT_COPY_STALL_MINUTES", "minutes",
             "A copy under way that moved no byte for this long.", copy_stalled),
    RuleSpec(AlertKind.CLOCK_SKEW, "LABWEB_ALERT_CLOCK_SKEW_SECONDS", "seconds",
             "A rig's clock this far from the dashboard's.", clock_skew),
    RuleSpec(AlertKind.ECHO_REFUSED, "LABWEB_ALERT_ECHO_REFUSED_QUIET_MINUTES", "minutes",
             "Echo packets refused from unknown peers; resolves after this long without one.", echo_refused),
)}


# -- figures from a rig's latest status -----------------------------------------------------------------------
def write_rate(rig: Rig) -> float:
    """Bytes per second the rig writes to its data disk now (its spooler's rate to disk)."""
    spool = _part(rig, "spool")
    return (_number(spool.get("mb_s_disk")) or 0.0) * 1e6 if spool.get("active") else 0.0


def clock_offset(rig: Rig) -> float | None:
    """Seconds the rig's clock is behind the dashboard's (negative: ahead): the smallest difference of the last
    minute, which the board saves with the status (labweb.live.clock); else, from a status saved without it, the
    latest status' stamp against when it arrived (the network's and the dashboard's delays are in that one)."""
    status = rig.last_status or {}
    best = _number(status.get("clock_offset"))
    if best is not None:
        return best
    stamp = _number(status.get("time"))
    if stamp is None or rig.last_seen is None:
        return None
    return rig.last_seen.timestamp() - stamp


def echo_refused_count(rig: Rig) -> int | None:
    value: Any = rig.last_status or {}
    for name in ECHO_REFUSED_FIELD:
        value = value.get(name) if isinstance(value, dict) else None
    if isinstance(value, dict):
        value = value.get("refused")
    number = _number(value)
    return None if number is None else int(number)


# -- watched figures ---------------------------------------------------------------------------------------------
def watch_counter(look: Look, rig: Rig, name: str, *, key: str, value: int) -> Watch:
    """Follow a count that only grows (until its series or agent restarts): changed_at is when it last rose."""
    now, watch = look.now, look.watch(rig, name)
    if watch is None:
        watch = Watch.objects.create(rig=rig, name=name, key=key, value=value, changed_at=now if value else None)
        look._watches[(rig.pk, name)] = watch
    elif watch.key != key or value < watch.value:  # a new series, or the agent restarted and counts from zero
        watch.key, watch.value, watch.changed_at = key, value, now if value else None
        watch.save()
    elif value > watch.value:
        watch.value, watch.changed_at = value, now
        watch.save()
    return watch


def watch_progress(look: Look, rig: Rig, name: str, *, key: str, value: int) -> Watch:
    """Follow a figure that should keep moving: changed_at is when it last changed, or when its key appeared."""
    now, watch = look.now, look.watch(rig, name)
    if watch is None:
        watch = Watch.objects.create(rig=rig, name=name, key=key, value=value, changed_at=now)
        look._watches[(rig.pk, name)] = watch
    elif watch.key != key or watch.value != value:
        watch.key, watch.value, watch.changed_at = key, value, now
        watch.save()
    return watch


def _recent(watch: Watch, now: dt.datetime, minutes: float) -> bool:
    return watch.changed_at is not None and watch.changed_at >= now - dt.timedelta(minutes=minutes)


# -- small helpers -----------------------------------------------------------------------------------------------
def _open_keys(kind: str) -> Iterable[tuple[int | None, str]]:
    return list(Alert.objects.filter(kind=kind, resolved_at__isnull=True).values_list("rig_id", "key"))


def _part(rig: Rig, name: str) -> dict[str, Any]:
    part = (rig.last_status or {}).get(name)
    return part if isinstance(part, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _file_name(path: str) -> str:
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


def _size(n: float) -> str:
    return f"{n / GB:.1f} GB" if n >= GB else f"{n / 1e6:.0f} MB"


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
