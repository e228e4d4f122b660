"""Fixtures for the alert tests: rigs as the live board leaves them in the database (online, last_seen, last_status),
destinations, and a check run at a chosen moment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labweb.alerts.rules import Look
from labweb.alerts.services import alerts_evaluate
from labweb.fleet import services as fleet_services
from labweb.fleet.models import Rig

GB = 1_000_000_000


def spool(**fields) -> dict:
    base = {"state": "running", "active": True, "file": "/data/spool/s1.h5", "frames": 100, "dropped": 0, "fps": 30.0,
            "mb_s_disk": 50.0, "queue_fill": 0.1}
    return {**base, **fields}


class Lab:
    """Rigs whose saved state a test sets, and checks run at `now` (which a test moves on by hand)."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def rig(self, name: str = "cam-left", *, online: bool = True, seen_ago: float = 1.0, **status) -> Rig:
        rig = Rig.objects.filter(name=name).first() or fleet_services.rig_create(name=name, kind="video")[0]
        return self.update(rig, online=online, seen_ago=seen_ago, **status)

    def update(self, rig: Rig, *, online: bool = True, seen_ago: float = 1.0, **status) -> Rig:
        rig.online = online
        rig.last_seen = self.now - dt.timedelta(seconds=seen_ago)
        rig.last_status = {"state": "idle", "time": rig.last_seen.timestamp(),
                           "disk": {"path": "/data", "total": 500 * GB, "free": 400 * GB}, **status}
        rig.save()
        return rig

    def later(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    def check(self):
        return alerts_evaluate(look=Look(now=self.now, rigs=list(Rig.objects.all())))


@pytest.fixture
def lab(db) -> Lab:
    return Lab()
