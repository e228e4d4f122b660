"""The offline sweep across dashboard processes: one owner at a time (a lease), taken over when the owner stops
renewing it. The same with real processes: tests/scale/test_deployment.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labweb.alerts.models import Lease
from labweb.fleet.models import Rig
from labweb.fleet.services import rig_create
from labweb.live.sweep import SWEEP_LEASE, rigs_sweep_offline

pytestmark = pytest.mark.django_db


def rig(name: str, *, seen_ago: float) -> Rig:
    made, _ = rig_create(name=name)
    Rig.objects.filter(pk=made.pk).update(online=True, last_seen=timezone.now() - dt.timedelta(seconds=seen_ago))
    return made


def online() -> set[str]:
    return set(Rig.objects.filter(online=True).values_list("name", flat=True))


def test_one_process_sweeps_and_another_takes_over_when_it_stops():
    rig("left-by-a-dead-process", seen_ago=60)
    rig("fresh", seen_ago=1)
    rig("held-here", seen_ago=60)  # this process holds its agent (its last_seen is written every 2 s)
    cutoff = timezone.now() - dt.timedelta(seconds=9)

    swept = rigs_sweep_offline(owner="A", cutoff=cutoff, holding=["held-here"])
    assert [r.name for r in swept] == ["left-by-a-dead-process"]
    assert online() == {"fresh", "held-here"}

    rig("left-later", seen_ago=60)
    assert rigs_sweep_offline(owner="B", cutoff=cutoff, holding=[]) == []  # A owns the sweep: B stands by
    assert "left-later" in online()

    Lease.objects.filter(name=SWEEP_LEASE).update(expires_at=timezone.now() - dt.timedelta(seconds=1))  # A died
    swept = rigs_sweep_offline(owner="B", cutoff=cutoff, holding=[])
    assert sorted(r.name for r in swept) == ["held-here", "left-later"]
    assert rigs_sweep_offline(owner="A", cutoff=cutoff, holding=[]) == []  # A back: B keeps it

