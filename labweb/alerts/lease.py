"""A lease row: which one of several dashboard processes runs a periodic job right now.

The holder renews it on every run; when it stops renewing (stopped, killed), another process takes it once it
expires. Taking and renewing are single conditional UPDATEs, so two processes can never both hold it.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Lease


def lease_take(*, name: str, owner: str, seconds: float, now: dt.datetime | None = None) -> bool:
    """Take or renew the lease for `seconds`; False while another owner holds it."""
    now = now or timezone.now()
    until = now + dt.timedelta(seconds=seconds)
    taken = Lease.objects.filter(name=name).filter(Q(owner=owner) | Q(expires_at__lt=now)).update(
        owner=owner, expires_at=until)
    if taken:
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, owner=owner, expires_at=until)
    except IntegrityError:  # the row exists and someone else holds it
        return False
    return True

