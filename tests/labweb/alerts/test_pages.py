"""The alert pages: the history with its filters, acknowledgement by operators only, the count in the navigation
bar, the active alerts as JSON, and a rig's alerts and planned absence on its page."""

from __future__ import annotations

import pytest

from labweb.alerts.choices import AlertKind, AlertState
from labweb.alerts.models import Alert
from labweb.fleet.models import Rig

from .conftest import GB

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_alerts(lab):
    lab.rig("cam-left", disk={"path": "/d", "total": 500 * GB, "free": 5 * GB})
    lab.rig("cam-right", online=False, seen_ago=3600)
    lab.check()
    return Alert.objects.get(kind=AlertKind.DISK_LOW), Alert.objects.get(kind=AlertKind.RIG_OFFLINE)


def rows(response) -> list[str]:
    import re

    return re.findall(r'data-alert="(\d+)"', response.content.decode())


def test_the_history_filters_by_rig_rule_and_state(viewer_client, two_alerts, lab):
    disk, offline = two_alerts
    assert sorted(rows(viewer_client.get("/alerts/"))) == sorted([str(disk.pk), str(offline.pk)])
    assert rows(viewer_client.get("/alerts/?rig=cam-left")) == [str(disk.pk)]
    assert rows(viewer_client.get("/alerts/?kind=rig_offline")) == [str(offline.pk)]
    lab.update(Rig.objects.get(name="cam-right"), seen_ago=1)
    lab.check()
    assert rows(viewer_client.get("/alerts/?state=resolved")) == [str(offline.pk)]
    assert rows(viewer_client.get("/alerts/?state=active")) == [str(disk.pk)]


def test_the_navigation_bar_counts_active_alerts_on_every_page(viewer_client, two_alerts):
    page = viewer_client.get("/sessions/").content.decode()
    assert 'id="alert-count" class="badge red" data-count="2">2<' in page
    data = viewer_client.get("/alerts/active.json").json()
    assert data["count"] == 2 and {a["rig"] for a in data["alerts"]} == {"cam-left", "cam-right"}
    assert {a["label"] for a in data["alerts"]} == {"Disk space low", "Rig offline"}


def test_only_an_operator_acknowledges_and_who_and_when_are_kept(viewer_client, operator_client, operator, two_alerts):
    disk, _ = two_alerts
    assert "button class=\"acknowledge\"" not in viewer_client.get("/alerts/").content.decode()
    assert viewer_client.post(f"/alerts/{disk.pk}/acknowledge/").status_code == 403
    assert "button class=\"acknowledge\"" in operator_client.get("/alerts/").content.decode()
    response = operator_client.post(f"/alerts/{disk.pk}/acknowledge/", {"next": "/alerts/?rig=cam-left"})
    assert response.status_code == 302 and response["Location"] == "/alerts/?rig=cam-left"
    disk.refresh_from_db()
    assert disk.state == AlertState.ACKNOWLEDGED and disk.acknowledged_by == operator and disk.acknowledged_at
    page = operator_client.get("/alerts/?rig=cam-left").content.decode()
    assert "olga" in page and "Acknowledged" in page
    operator_client.post(f"/alerts/{disk.pk}/acknowledge/")
    disk.refresh_from_db()
    assert disk.acknowledged_by == operator  # a second click changes nothing


def test_an_acknowledged_alert_still_resolves_by_itself(lab, operator, two_alerts):
    from labweb.alerts.services import alert_acknowledge

    disk, _ = two_alerts
    alert_acknowledge(alert=disk, user=operator)
    lab.update(Rig.objects.get(name="cam-left"))
    lab.check()
    disk.refresh_from_db()
    assert disk.state == AlertState.RESOLVED and disk.acknowledged_by == operator


def test_the_rig_page_shows_its_alerts_and_an_operator_marks_it_out_of_service(viewer_client, operator_client, two_alerts, lab):
    page = viewer_client.get("/rigs/cam-right/").content.decode()
    assert "cam-right offline for 60 min" in page and "mark-out-of-service" not in page
    assert viewer_client.post("/rigs/cam-right/service/", {"out_of_service": "1"}).status_code == 403
    assert "mark-out-of-service" in operator_client.get("/rigs/cam-right/").content.decode()
    operator_client.post("/rigs/cam-right/service/", {"out_of_service": "1"})
    assert Rig.objects.get(name="cam-right").out_of_service
    lab.check()
    assert Alert.objects.get(kind=AlertKind.RIG_OFFLINE).state == AlertState.RESOLVED
    assert "No open alert." in viewer_client.get("/rigs/cam-right/").content.decode()
    operator_client.post("/rigs/cam-right/service/", {"out_of_service": "0"})
    assert not Rig.objects.get(name="cam-right").out_of_service
