"""A lease row: which one of several dashboard processes runs a periodic job right now.

The holder renews it on every run; when it stops renewing (stopped, killed), another process takes it once it
expires. Taking and renewing are single conditional UPDATEs, so two processes can never both hold it. Expiry is
on the database's clock, so dashboard machines whose clocks disagree still agree on who holds it.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Now

from .models import Lease


def lease_take(*, name: str, owner: str, seconds: float, now: dt.datetime | None = None) -> bool:
    """Take or renew the lease for `seconds`; False while another owner holds it. `now` (tests) replaces the
    database's clock."""
    moment = Now() if now is None else now
    until = moment + dt.timedelta(seconds=seconds)
    taken = Lease.objects.filter(name=name).filter(Q(owner=owner) | Q(expires_at__lt=moment)).update(
        owner=owner, expires_at=until)
    if taken:
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, owner=owner, expires_at=until)
    except IntegrityError:  # the row exists and someone else holds it
        return False
    return True


def lease_holder(name: str) -> str | None:
    """Who holds the lease now (None when nobody does)."""
    return Lease.objects.filter(name=name, expires_at__gte=Now()).values_list("owner", flat=True).first()
