"""Turning what rigs report into records: each app registers what it makes of the events and command outcomes
it understands (sessions, spool runs, transfers), so the fleet app needs to know none of them.

Event appliers run once per event, in the transaction that first stores it, so a re-sent event changes nothing
twice. Both kinds of listener return the exp_refs of the sessions they changed (or None), so the live pages can be
told which sessions to redraw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import transaction

from .models import Command, Rig, RigEvent

log = logging.getLogger(__name__)

Applier = Callable[[Rig, RigEvent], Iterable[str] | None]
OutcomeListener = Callable[[Command], Iterable[str] | None]
_appliers: list[tuple[str, Applier]] = []
_outcome_listeners: list[tuple[str, OutcomeListener]] = []


def event_applier_register(prefix: str, applier: Applier) -> None:
    """Call `applier(rig, event)` for every newly stored event whose name starts with `prefix`."""
    if (prefix, applier) not in _appliers:
        _appliers.append((prefix, applier))


def command_outcome_register(action: str, listener: OutcomeListener) -> None:
    """Call `listener(command)` when a command of this action is answered, refused or expires unanswered."""
    if (action, listener) not in _outcome_listeners:
        _outcome_listeners.append((action, listener))


def events_apply(*, rig: Rig, events: list[RigEvent]) -> set[str]:
    """Apply every registered applier; one that fails is logged and rolled back alone, the event is still kept
    (an event the dashboard cannot digest must not block the rig's outbox forever). Returns the exp_refs of
    the sessions the events changed."""
    touched: set[str] = set()
    for event in events:
        for prefix, applier in _appliers:
            if event.name.startswith(prefix):
                touched |= _run(applier, (rig, event), f"rig {rig} event #{event.seq} {event.name}")
    return touched


def command_outcome_apply(command: Command) -> set[str]:
    """Tell the listeners of this command's action how it ended; the exp_refs of the sessions that changed."""
    touched: set[str] = set()
    for action, listener in _outcome_listeners:
        if command.action == action:
            touched |= _run(listener, (command,), f"command {command.pk} {command.action}")
    return touched


def _run(listener: Callable, args: tuple, what: str) -> set[str]:
    try:
        with transaction.atomic():
            return set(listener(*args) or ())
    except Exception:
        log.exception("%s could not be applied by %s", what, getattr(listener, "__qualname__", listener))
        return set()
