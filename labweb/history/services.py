"""Writes of the history: pruning what is older than the retention setting."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from .models import RigSample

log = logging.getLogger(__name__)

PRUNE_BATCH = 50_000  # rows per delete: a year's backlog never holds one long transaction


def history_prune(*, days: float | None = None, now: float | None = None) -> int:
    """Delete history older than `days` (the retention setting by default); returns how many rows went."""
    days = settings.LABWEB_HISTORY_RETENTION_DAYS if days is None else days
    cutoff = int((now if now is not None else time.time()) - days * 86400)
    removed = 0
    while True:
        batch = list(RigSample.objects.filter(t__lt=cutoff).values_list("pk", flat=True)[:PRUNE_BATCH])
        if not batch:
            break
        removed += RigSample.objects.filter(pk__in=batch).delete()[0]
    if removed:
        log.info("history: pruned %d rows older than %g days", removed, days)
    return removed
