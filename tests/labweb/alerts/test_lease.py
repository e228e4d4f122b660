"""The lease that lets one dashboard process at a time check the rules: taken, renewed, refused to a second
process, and taken over once its holder stops renewing it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labweb.alerts.lease import lease_take

pytestmark = pytest.mark.django_db


def test_one_holder_at_a_time_and_a_takeover_when_it_stops_renewing():
    now = timezone.now()
    assert lease_take(name="alerts", owner="a", seconds=30, now=now)
    assert not lease_take(name="alerts", owner="b", seconds=30, now=now + dt.timedelta(seconds=10))
    assert lease_take(name="alerts", owner="a", seconds=30, now=now + dt.timedelta(seconds=20))  # renewed to 50 s
    assert not lease_take(name="alerts", owner="b", seconds=30, now=now + dt.timedelta(seconds=45))
    assert lease_take(name="alerts", owner="b", seconds=30, now=now + dt.timedelta(seconds=51))  # a stopped renewing
    assert not lease_take(name="alerts", owner="a", seconds=30, now=now + dt.timedelta(seconds=52))

