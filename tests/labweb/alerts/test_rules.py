"""Each rule against rigs and records as the dashboard keeps them: an alert opens once while its condition holds,
resolves by itself when it clears, and an offline rig's figures neither open nor resolve anything."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from labweb.alerts.choices import AlertKind, AlertState
from labweb.alerts.models import Alert, Rule
from labweb.records import services as records
from labweb.records.choices import CopyState, SessionState
from labweb.records.models import SessionRig
from labweb.spooling.choices import SpoolOutcome
from labweb.spooling.models import SpoolRun
from labweb.transfers.choices import TransferOutcome
from labweb.transfers.models import Transfer

from .conftest import GB, spool

pytestmark = pytest.mark.django_db


def alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind).order_by("pk"))


@override_settings(LABWEB_ALERT_RIG_OFFLINE_MINUTES=5)
def test_offline_rig_opens_one_alert_while_silent_and_it_resolves_when_the_rig_is_back(lab):
    rig = lab.rig("cam-left", online=False, seen_ago=4 * 60)
    lab.rig("never-seen").__class__.objects.filter(name="never-seen").update(last_seen=None, online=False)  # not in use yet
    assert lab.check().opened == []  # 4 minutes: not yet
    lab.later(120)
    opened = lab.check().opened
    assert [a.kind for a in opened] == [AlertKind.RIG_OFFLINE] and opened[0].rig == rig
    assert "cam-left offline for 6 min" == opened[0].title
    lab.later(60)
    assert lab.check().opened == []  # still silent: the same alert, no second one
    [alert] = alerts(AlertKind.RIG_OFFLINE)
    assert alert.state == AlertState.OPEN and alert.title == "cam-left offline for 7 min"

    lab.update(rig, seen_ago=1)
    resolved = lab.check().resolved
    assert [a.pk for a in resolved] == [alert.pk]
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolved_at == lab.now


def test_a_rig_out_of_service_raises_no_offline_alert_and_marking_it_resolves_one(lab):
    rig = lab.rig("cam-left", online=False, seen_ago=3600)
    lab.check()
    assert alerts(AlertKind.RIG_OFFLINE)[0].state == AlertState.OPEN
    rig.out_of_service = True
    rig.save()
    lab.check()
    assert alerts(AlertKind.RIG_OFFLINE)[0].state == AlertState.RESOLVED
    lab.later(3600)
    lab.check()
    assert len(alerts(AlertKind.RIG_OFFLINE)) == 1


@override_settings(LABWEB_ALERT_DISK_FREE_GB=20)
def test_low_disk_opens_once_holds_while_offline_and_resolves_when_space_is_freed(lab):
    rig = lab.rig(disk={"path": "/data", "total": 500 * GB, "free": 19 * GB})
    lab.check()
    lab.check()
    [alert] = alerts(AlertKind.DISK_LOW)
    assert alert.title == "cam-left: 19.0 GB free on its data disk"
    lab.update(rig, online=False, seen_ago=60, disk={"path": "/data", "total": 500 * GB, "free": 100 * GB})
    lab.check()  # offline: its disk is not known now, so nothing resolves
    assert Alert.objects.get(pk=alert.pk).state == AlertState.OPEN
    lab.update(rig, disk={"path": "/data", "total": 500 * GB, "free": 100 * GB})
    assert [a.pk for a in lab.check().resolved] == [alert.pk]


@override_settings(LABWEB_ALERT_DISK_FULL_HOURS=2, LABWEB_ALERT_DISK_FREE_GB=20)
def test_disk_full_within_hours_at_the_spoolers_write_rate(lab):
    rig = lab.rig(disk={"path": "/data", "total": 500 * GB, "free": 400 * GB}, spool=spool(mb_s_disk=50.0))
    lab.check()  # 400 GB at 50 MB/s: 8000 s, more than 2 h
    assert alerts(AlertKind.DISK_FULL_SOON) == []
    lab.update(rig, disk={"path": "/data", "total": 500 * GB, "free": 300 * GB}, spool=spool(mb_s_disk=50.0))
    lab.check()  # 6000 s
    [alert] = alerts(AlertKind.DISK_FULL_SOON)
    assert alert.title == "cam-left: data disk full in 1.7 h at 50.0 MB/s"
    assert alert.data["seconds_to_full"] == 6000
    lab.update(rig, disk={"path": "/data", "total": 500 * GB, "free": 300 * GB}, spool=spool(state="finished", active=False))
    lab.check()  # the series ended: nothing writes any more
    assert alerts(AlertKind.DISK_FULL_SOON)[0].state == AlertState.RESOLVED


@override_settings(LABWEB_ALERT_DROPS_QUIET_MINUTES=5)
def test_frames_dropped_in_a_running_series_open_once_and_resolve_after_a_quiet_spell(lab):
    rig = lab.rig(spool=spool(dropped=0))
    lab.check()
    assert alerts(AlertKind.FRAMES_DROPPED) == []
    lab.update(rig, spool=spool(dropped=12))
    lab.check()
    lab.later(60)
    lab.update(rig, spool=spool(dropped=40))
    lab.check()
    [alert] = alerts(AlertKind.FRAMES_DROPPED)
    assert alert.title == "cam-left: 40 frames dropped in s1.h5" and alert.state == AlertState.OPEN
    lab.later(4 * 60)
    lab.update(rig, spool=spool(dropped=40))
    lab.check()
    assert alerts(AlertKind.FRAMES_DROPPED)[0].state == AlertState.OPEN  # 4 min without a new drop
    lab.later(2 * 60)
    lab.update(rig, spool=spool(dropped=40))
    lab.check()
    assert alerts(AlertKind.FRAMES_DROPPED)[0].state == AlertState.RESOLVED  # 6 min
    lab.update(rig, spool=spool(dropped=41))
    lab.check()  # dropping again: a new alert for the new spell
    assert [a.state for a in alerts(AlertKind.FRAMES_DROPPED)] == [AlertState.RESOLVED, AlertState.OPEN]


def test_frames_dropped_resolves_when_the_series_ends(lab):
    rig = lab.rig(spool=spool(dropped=3))
    lab.check()
    lab.update(rig, spool=spool(dropped=3, state="finished", active=False))
    lab.check()
    assert [a.state for a in alerts(AlertKind.FRAMES_DROPPED)] == [AlertState.RESOLVED]


def test_a_failed_series_alerts_until_the_rig_spools_again(lab):
    rig = lab.rig()
    old = SpoolRun.objects.create(rig=rig, file="/d/old.h5", outcome=SpoolOutcome.FAILED, error="disk gone",
                                  ended_at=lab.now - dt.timedelta(days=30))
    ok = SpoolRun.objects.create(rig=rig, file="/d/ok.h5", outcome=SpoolOutcome.OK, ended_at=lab.now)
    lab.check()
    assert alerts(AlertKind.SPOOL_FAILED) == []  # an old failure, followed by a good series
    failed = SpoolRun.objects.create(rig=rig, file="/d/a.h5", outcome=SpoolOutcome.FAILED, reason="error",
                                     error="HDF5 write error", ended_at=lab.now)
    lab.check()
    lab.check()
    [alert] = alerts(AlertKind.SPOOL_FAILED)
    assert (alert.title, alert.detail, alert.key) == ("cam-left: series a.h5 failed", "HDF5 write error", str(failed.pk))
    SpoolRun.objects.create(rig=rig, file="", outcome=SpoolOutcome.REFUSED)  # a refused start is not a new series
    lab.check()
    assert alerts(AlertKind.SPOOL_FAILED)[0].state == AlertState.OPEN
    SpoolRun.objects.create(rig=rig, file="/d/b.h5", outcome=SpoolOutcome.RUNNING)
    lab.check()
    assert alerts(AlertKind.SPOOL_FAILED)[0].state == AlertState.RESOLVED
    assert old.pk and ok.pk


def test_a_failed_copy_alerts_until_a_later_copy_of_the_session_succeeds(lab):
    rig = lab.rig()
    Transfer.objects.create(rig=rig, transfer_id="t1", exp_ref="2024-05-01_1_ZM_001", outcome=TransferOutcome.FAILED,
                            error="no description for device 'video'")
    lab.check()
    Transfer.objects.create(rig=rig, transfer_id="t2", exp_ref="2024-05-01_1_ZM_001", outcome=TransferOutcome.FAILED,
                            error="still none")
    Transfer.objects.create(rig=rig, transfer_id="t3", exp_ref="2024-05-02_1_ZM_001", outcome=TransferOutcome.COMPLETE)
    lab.check()
    [alert] = alerts(AlertKind.COPY_FAILED)  # one per session, however often it fails
    assert alert.title == "cam-left: copy of 2024-05-01_1_ZM_001 failed" and alert.detail == "still none"
    Transfer.objects.create(rig=rig, transfer_id="t4", exp_ref="2024-05-01_1_ZM_001", outcome=TransferOutcome.FINALIZED)
    lab.check()
    assert alerts(AlertKind.COPY_FAILED)[0].state == AlertState.RESOLVED


@override_settings(LABWEB_ALERT_FINALIZE_HOURS=6)
def test_a_session_not_finalized_hours_after_it_ended_names_the_rig_whose_copy_is_missing(lab):
    left, right = lab.rig("cam-left"), lab.rig("cam-right")
    subject = records.subject_create(name="ZM_001")
    session = records.session_create(subject=subject, date=dt.date(2024, 5, 1))
    session.state, session.ended_at = SessionState.STOPPED, lab.now - dt.timedelta(hours=5)
    session.save()
    SessionRig.objects.create(session=session, rig=left, copy_state=CopyState.COMPLETE)
    SessionRig.objects.create(session=session, rig=right, copy_state=CopyState.PENDING)
    lab.check()
    assert alerts(AlertKind.SESSION_UNFINALIZED) == []
    lab.later(2 * 3600)
    lab.check()
    [alert] = alerts(AlertKind.SESSION_UNFINALIZED)
    assert alert.rig == right and alert.key == session.exp_ref
    assert alert.title == f"{session.exp_ref} not finalized 7.0 h after it ended (cam-right: Pending)"
    session.finalized_at = lab.now
    session.save()
    lab.check()
    assert alerts(AlertKind.SESSION_UNFINALIZED)[0].state == AlertState.RESOLVED


@override_settings(LABWEB_ALERT_COPY_STALL_MINUTES=10)
def test_a_copy_that_moves_no_byte_for_minutes_is_stalled_until_it_moves(lab):
    copying = {"active": True, "exp_ref": "2024-05-01_1_ZM_001", "bytes_done": 1000, "bytes_total": 10**9}
    rig = lab.rig(transfer=copying)
    lab.check()
    lab.later(9 * 60)
    lab.update(rig, transfer=copying)
    lab.check()
    assert alerts(AlertKind.COPY_STALLED) == []
    lab.later(2 * 60)
    lab.update(rig, transfer=copying)
    lab.check()
    [alert] = alerts(AlertKind.COPY_STALLED)
    assert alert.title == "cam-left: copy of 2024-05-01_1_ZM_001 stalled for 11 min"
    lab.update(rig, transfer={**copying, "bytes_done": 5000})
    lab.check()
    assert alerts(AlertKind.COPY_STALLED)[0].state == AlertState.RESOLVED


@override_settings(LABWEB_ALERT_CLOCK_SKEW_SECONDS=5)
def test_a_rig_clock_off_by_more_than_the_limit(lab):
    rig = lab.rig()
    rig.last_status["time"] = rig.last_seen.timestamp() - 3
    rig.save()
    lab.check()
    assert alerts(AlertKind.CLOCK_SKEW) == []
    rig.last_status["time"] = rig.last_seen.timestamp() + 12.5
    rig.save()
    lab.check()
    [alert] = alerts(AlertKind.CLOCK_SKEW)
    assert alert.title == "cam-left: its clock is 12.5 s ahead of the dashboard's"
    rig.last_status["time"] = rig.last_seen.timestamp()
    rig.save()
    lab.check()
    assert alerts(AlertKind.CLOCK_SKEW)[0].state == AlertState.RESOLVED


@override_settings(LABWEB_ALERT_CLOCK_SKEW_SECONDS=5)
def test_a_status_that_arrived_late_is_not_a_wrong_clock(lab):
    # The latest status waited 7 s in a busy dashboard; the best of the minute the board measured is 20 ms.
    rig = lab.rig()
    rig.last_status.update(time=rig.last_seen.timestamp() - 7, clock_offset=0.02)
    rig.save()
    lab.check()
    assert alerts(AlertKind.CLOCK_SKEW) == []
    rig.last_status["clock_offset"] = -12.5  # and a clock set wrong is still seen
    rig.save()
    lab.check()
    [alert] = alerts(AlertKind.CLOCK_SKEW)
    assert alert.title == "cam-left: its clock is 12.5 s ahead of the dashboard's"


@override_settings(LABWEB_ALERT_ECHO_REFUSED_QUIET_MINUTES=10)
def test_echo_packets_refused_from_unknown_peers(lab):
    rig = lab.rig(session={"state": "idle", "echo_refused": 0})
    lab.check()
    lab.update(rig, session={"state": "idle", "echo_refused": {"refused": 3, "last_peer": "10.0.0.9:5000"}})
    lab.check()
    [alert] = alerts(AlertKind.ECHO_REFUSED)
    assert alert.title == "cam-left: 3 echo packets refused from unknown peers"
    lab.later(11 * 60)
    lab.update(rig, session={"state": "idle", "echo_refused": 3})
    lab.check()
    assert alerts(AlertKind.ECHO_REFUSED)[0].state == AlertState.RESOLVED


def test_a_rule_switched_off_in_the_admin_opens_nothing_and_resolves_what_it_had_opened(lab):
    lab.rig(online=False, seen_ago=3600)
    lab.check()
    Rule.objects.filter(kind=AlertKind.RIG_OFFLINE).update(enabled=False)
    lab.check()
    assert [a.state for a in alerts(AlertKind.RIG_OFFLINE)] == [AlertState.RESOLVED]


def test_an_admin_threshold_overrides_the_environment(lab):
    lab.rig(disk={"path": "/data", "total": 500 * GB, "free": 30 * GB})
    lab.check()
    assert alerts(AlertKind.DISK_LOW) == []  # the default is 20 GB
    Rule.objects.filter(kind=AlertKind.DISK_LOW).update(threshold=50)
    lab.check()
    assert len(alerts(AlertKind.DISK_LOW)) == 1


def test_the_database_refuses_a_second_active_alert_for_one_condition(lab):
    from django.db import IntegrityError, transaction

    rig = lab.rig()
    Alert.objects.create(kind=AlertKind.DISK_LOW, rig=rig, title="one")
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(kind=AlertKind.DISK_LOW, rig=rig, title="two")
    Alert.objects.create(kind=AlertKind.SESSION_UNFINALIZED, rig=None, key="x", title="one")
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(kind=AlertKind.SESSION_UNFINALIZED, rig=None, key="x", title="two")
