"""Writes of alerts: a check opens and resolves alert records from what the rules find, and queues one notification
per destination for each opening and resolution; operators acknowledge; senders record how each try went."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .choices import AlertKind, AlertState, DeliveryEvent, DeliveryState
from .models import Alert, Delivery, Destination, Rule
from .rules import RULES, Finding, Look, look_now

log = logging.getLogger(__name__)

# A failed notification is tried again after 10 s, 20 s, 40 s ... at most 30 min apart, and given up after this
# many tries (about 4 hours of trying).
RETRY_FIRST_SECONDS = 10.0
RETRY_MAX_SECONDS = 1800.0
MAX_ATTEMPTS = 14
CLAIM_SECONDS = 120.0  # longer than any one try (apprise and SMTP time out within a minute)


@dataclass(frozen=True)
class RuleSetting:
    kind: str
    enabled: bool
    threshold: float


def rules_ensure(**_kwargs) -> None:
    """One row per rule (after every migrate), so an admin finds each one to switch off or tune."""
    for kind in AlertKind.values:
        Rule.objects.get_or_create(kind=kind)


def rule_settings() -> dict[str, RuleSetting]:
    """Each rule's effective switch and threshold: the admin's row where it says so, else the environment."""
    rows = {rule.kind: rule for rule in Rule.objects.all()}
    disabled = set(settings.LABWEB_ALERTS_DISABLED)
    out = {}
    for kind, spec in RULES.items():
        row = rows.get(kind)
        default = float(getattr(settings, spec.setting)) if spec.setting else 0.0
        threshold = row.threshold if row is not None and row.threshold is not None else default
        enabled = kind not in disabled and (row is None or row.enabled)
        out[kind] = RuleSetting(kind, enabled, threshold)
    return out


@dataclass
class Changes:
    opened: list[Alert]
    resolved: list[Alert]


def alerts_evaluate(*, look: Look | None = None) -> Changes:
    """One check of every rule: open an alert for each new condition, update the figures of those that still hold,
    resolve those that cleared; each opening and resolution queues its notifications in the same transaction."""
    look = look or look_now()
    changes = Changes([], [])
    for kind, rule in rule_settings().items():
        if rule.enabled:
            outcome = RULES[kind].check(look, rule.threshold)
            findings, undecided = outcome.findings, outcome.undecided
        else:
            findings, undecided = [], set()
        _apply(kind, findings, undecided, look.now, changes)
    return changes


def _apply(kind: str, findings: list[Finding], undecided: set[int], now: dt.datetime, changes: Changes) -> None:
    active = {(a.rig_id, a.key): a for a in Alert.objects.filter(kind=kind, state__in=AlertState.active())}
    holding = {(f.rig_id, f.key): f for f in findings}
    for where, finding in holding.items():
        alert = active.get(where)
        if alert is None:
            alert = alert_open(finding, now=now)
            if alert is not None:
                changes.opened.append(alert)
        elif (alert.title, alert.detail, alert.data) != (finding.title, finding.detail, finding.data):
            Alert.objects.filter(pk=alert.pk).update(title=finding.title[:300], detail=finding.detail,
                                                     data=finding.data, updated_at=now)
    for where, alert in active.items():
        if where not in holding and alert.rig_id not in undecided:
            if alert_resolve(alert, now=now):
                changes.resolved.append(alert)


def alert_open(finding: Finding, *, now: dt.datetime) -> Alert | None:
    """Record a new condition and queue its notifications; None when another check recorded it first."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(kind=finding.kind, rig_id=finding.rig_id, key=finding.key[:1000],
                                         title=finding.title[:300], detail=finding.detail, data=finding.data,
                                         opened_at=now)
            destinations = [d for d in Destination.objects.filter(enabled=True) if d.hears(alert.kind)]
            Delivery.objects.bulk_create(
                [Delivery(alert=alert, destination=d, event=DeliveryEvent.OPENED, next_attempt_at=now) for d in destinations]
            )
    except IntegrityError:  # the one-active-alert constraint: a concurrent check opened it
        return None
    log.info("alert opened: %s", alert.title)
    return alert


def alert_resolve(alert: Alert, *, now: dt.datetime) -> bool:
    """The condition cleared: resolve it, and tell the destinations that were told of its opening."""
    with transaction.atomic():
        done = Alert.objects.filter(pk=alert.pk, state__in=AlertState.active()).update(
            state=AlertState.RESOLVED, resolved_at=now, updated_at=now)
        if not done:
            return False
        told = Destination.objects.filter(deliveries__alert=alert, deliveries__event=DeliveryEvent.OPENED,
                                          on_resolve=True, enabled=True).distinct()
        Delivery.objects.bulk_create(
            [Delivery(alert=alert, destination=d, event=DeliveryEvent.RESOLVED, next_attempt_at=now) for d in told],
            ignore_conflicts=True,
        )
    alert.state, alert.resolved_at = AlertState.RESOLVED, now
    log.info("alert resolved: %s", alert.title)
    return True


def alert_acknowledge(*, alert: Alert, user) -> bool:
    """An operator has seen it; False when it had already been acknowledged or resolved."""
    now = timezone.now()
    done = Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN).update(
        state=AlertState.ACKNOWLEDGED, acknowledged_by=user, acknowledged_at=now, updated_at=now)
    if done:
        log.info("alert %s acknowledged by %s", alert.pk, user)
    return bool(done)


# -- notifications -------------------------------------------------------------------------------------------------
def deliveries_claim(*, now: dt.datetime | None = None, limit: int = 20) -> list[Delivery]:
    """Deliveries due now, each claimed for this sender (a conditional update: no two senders try one at once)."""
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )
    claimed = []
    until = now + dt.timedelta(seconds=CLAIM_SECONDS)
    for pk in due:
        took = Delivery.objects.filter(pk=pk, state=DeliveryState.PENDING).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).update(claimed_until=until)
        if took:
            claimed.append(pk)
    return list(Delivery.objects.filter(pk__in=claimed).select_related("alert", "alert__rig", "destination"))


def delivery_record(*, delivery_id: int, error: str | None, now: dt.datetime | None = None) -> Delivery:
    """How a try went: sent, or failed and due again after a backoff (given up after MAX_ATTEMPTS)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().select_related("destination").get(pk=delivery_id)
        delivery.attempts += 1
        delivery.claimed_until = None
        destination = delivery.destination
        if error is None:
            delivery.state, delivery.sent_at, delivery.last_error = DeliveryState.SENT, now, ""
            destination.last_success_at = now
            destination.save(update_fields=["last_success_at"])
        else:
            delivery.last_error = error[:2000]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.state = DeliveryState.FAILED
            else:
                delivery.next_attempt_at = now + dt.timedelta(seconds=retry_delay(delivery.attempts))
            destination.last_failure_at, destination.last_error = now, error[:2000]
            destination.save(update_fields=["last_failure_at", "last_error"])
        delivery.save()
    if error is not None:
        log.warning("notification to %s failed (try %d): %s", destination, delivery.attempts, error)
    return delivery


def retry_delay(attempts: int) -> float:
    return min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** max(0, attempts - 1))
