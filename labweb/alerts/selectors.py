"""Reads of alerts, shaped for the pages, the navigation bar and the rig cards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from labweb.fleet.models import Rig

from .choices import ALERT_COLOURS, AlertState
from .models import Alert, Destination


def alert_list(*, rig: str = "", kind: str = "", state: str = "", date_from: dt.date | None = None,
               date_to: dt.date | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.select_related("rig", "acknowledged_by")
    if rig:
        alerts = alerts.filter(rig__name=rig)
    if kind:
        alerts = alerts.filter(kind=kind)
    if state == "active":
        alerts = alerts.filter(state__in=AlertState.active())
    elif state:
        alerts = alerts.filter(state=state)
    if date_from:
        alerts = alerts.filter(opened_at__date__gte=date_from)
    if date_to:
        alerts = alerts.filter(opened_at__date__lte=date_to)
    return alerts


def alerts_active() -> QuerySet[Alert]:
    return Alert.objects.filter(state__in=AlertState.active()).select_related("rig")


def alerts_active_by_rig(rigs: list[Rig]) -> dict[int, list[dict[str, Any]]]:
    """Each rig's active alerts as the browser gets them (rig pk -> entries, newest first; [] for a rig without)."""
    found: dict[int, list[dict[str, Any]]] = {rig.pk: [] for rig in rigs}
    for alert in alerts_active().filter(rig__in=rigs):
        found[alert.rig_id].append(alert_entry(alert))
    return found


def alerts_active_count() -> int:
    return Alert.objects.filter(state__in=AlertState.active()).count()


def alert_entry(alert: Alert) -> dict[str, Any]:
    """An alert as the browser gets it (cards, navigation bar)."""
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "label": alert.get_kind_display(),
        "rig": alert.rig.name if alert.rig_id else None,
        "title": alert.title,
        "state": alert.state,
        "colour": ALERT_COLOURS.get(alert.state, "grey"),
        "opened_at": alert.opened_at.timestamp(),
    }


def destinations_failing() -> list[Destination]:
    return [d for d in Destination.objects.filter(enabled=True) if d.failing]
