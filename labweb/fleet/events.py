"""Turning rig events into records: each app registers what it makes of the events it understands.

Appliers run once per event, in the transaction that first stores it, so a re-sent event changes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

from .models import Rig, RigEvent

log = logging.getLogger(__name__)

Applier = Callable[[Rig, RigEvent], None]
_appliers: list[tuple[str, Applier]] = []


def event_applier_register(prefix: str, applier: Applier) -> None:
    """Call `applier(rig, event)` for every newly stored event whose name starts with `prefix`."""
    if (prefix, applier) not in _appliers:
        _appliers.append((prefix, applier))


def events_apply(*, rig: Rig, events: list[RigEvent]) -> None:
    """Apply every registered applier; one that fails is logged and rolled back alone, the event is still kept
    (an event the dashboard cannot digest must not block the rig's outbox forever)."""
    for event in events:
        for prefix, applier in _appliers:
            if not event.name.startswith(prefix):
                continue
            try:
                with transaction.atomic():
                    applier(rig, event)
            except Exception:
                log.exception("rig %s event #%d %s could not be applied by %s", rig, event.seq, event.name,
                              getattr(applier, "__qualname__", applier))
