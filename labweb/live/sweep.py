"""The "offline" sweep: rigs a dashboard process left marked online (it was killed, or lost its database) are
marked offline once their last_seen is stale, by one process at a time.

Ownership across processes, as for every periodic job (labweb.alerts.jobs):
- The sweep has one owner: the process holding the `sweep` lease (labweb.alerts.lease, a database row taken by
  a conditional UPDATE, on the database's clock). The others stand by and take it over within SWEEP_LEASE_SECONDS
  of the owner's last renewal, so a killed owner is replaced.
- Its write is conditional too: a rig is marked offline only while it is still online with a stale last_seen,
  under a row lock. A rig that reconnected to another process meanwhile (fresh last_seen) is never marked
  offline by a sweep that looked a moment before, and no browser is told it went offline.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction

from labweb.alerts.lease import lease_take
from labweb.fleet.models import Rig

log = logging.getLogger(__name__)

SWEEP_LEASE = "sweep"
SWEEP_LEASE_SECONDS = 6.0  # three persist intervals: a killed owner is replaced within this

_held: dict[str, bool] = {}


def rigs_sweep_offline(*, owner: str, cutoff: dt.datetime, holding: Iterable[str]) -> list[Rig]:
    """Mark offline the rigs online with last_seen before `cutoff` and not in `holding` (this process's agents),
    if this process owns the sweep; gives the rigs it marked (none when another process owns it)."""
    held = lease_take(name=SWEEP_LEASE, owner=owner, seconds=SWEEP_LEASE_SECONDS)
    if held != _held.get(owner, False):
        log.info("offline sweep: this process (%s) %s", owner, "now runs it" if held else "no longer runs it")
        _held[owner] = held
    if not held:
        return []
    with transaction.atomic():
        stale = list(Rig.objects.select_for_update(skip_locked=True)
                     .filter(online=True, last_seen__lt=cutoff).exclude(name__in=list(holding)))
        Rig.objects.filter(pk__in=[rig.pk for rig in stale], online=True, last_seen__lt=cutoff).update(online=False)
    for rig in stale:
        rig.online = False
    return stale
