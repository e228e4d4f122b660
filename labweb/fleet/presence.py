"""When a rig counts as online: one rule for the rigs page, the fleet table, the API, the alerts and the metrics.

A dashboard process that holds a rig's link knows at once when it goes quiet. Everything else reads the database,
where `online` may be left true by a process that was killed: there a rig is online only while its `last_seen`,
which the process holding its link saves every PERSIST_SECONDS, is fresher than the silence limit allows.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import Rig

# How often a dashboard process saves last_seen (and the latest status) of the rigs whose links it holds.
PERSIST_SECONDS = 2.0


def stale_seconds() -> float:
    """How long after its last save a rig marked online is taken for offline: about 10 s after its process died."""
    return settings.LABWEB_RIG_SILENCE_SECONDS + PERSIST_SECONDS + 1.0


def fresh_after(now: dt.datetime | None = None) -> dt.datetime:
    """A rig marked online but last seen before this is offline."""
    return (now or timezone.now()) - dt.timedelta(seconds=stale_seconds())


def rig_is_online(rig: Rig, *, since: dt.datetime) -> bool:
    return bool(rig.online and rig.last_seen is not None and rig.last_seen >= since)


def online_filter(since: dt.datetime | None = None) -> Q:
    """The same rule as a query filter."""
    return Q(online=True, last_seen__gte=since or fresh_after())
