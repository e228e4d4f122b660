"""The lease that lets one dashboard process at a time check the rules: taken, renewed, refused to a second
process, and taken over once its holder stops renewing it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labweb.alerts.lease import lease_holder, lease_take

pytestmark = pytest.mark.django_db


def test_one_holder_at_a_time_and_a_takeover_when_it_stops_renewing():
    now = timezone.now()
    assert lease_take(name="alerts", owner="a", seconds=30, now=now)
    assert not lease_take(name="alerts", owner="b", seconds=30, now=now + dt.timedelta(seconds=10))
    assert lease_take(name="alerts", owner="a", seconds=30, now=now + dt.timedelta(seconds=20))  # renewed to 50 s
    assert not lease_take(name="alerts", owner="b", seconds=30, now=now + dt.timedelta(seconds=45))
    assert lease_take(name="alerts", owner="b", seconds=30, now=now + dt.timedelta(seconds=51))  # a stopped renewing
    assert not lease_take(name="alerts", owner="a", seconds=30, now=now + dt.timedelta(seconds=52))



def test_on_the_database_clock_the_holder_is_known_and_kept():
    assert lease_take(name="sweep", owner="a", seconds=30)  # created on the database's clock
    assert lease_take(name="sweep", owner="a", seconds=30)  # renewed
    assert not lease_take(name="sweep", owner="b", seconds=30)
    assert lease_holder("sweep") == "a"
    assert lease_take(name="short", owner="a", seconds=-1)  # already expired: nobody holds it
    assert lease_holder("short") is None
    assert lease_take(name="short", owner="b", seconds=30)
