"""/metrics in Prometheus' text format, read back with prometheus_client's own parser; only for a token or an
allowed address."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from labweb.alerts.choices import AlertKind
from labweb.alerts.models import Alert
from labweb.fleet import services as fleet_services
from labweb.fleet.models import RigEvent
from labweb.transfers.models import Transfer

pytestmark = pytest.mark.django_db


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.fixture
def rig(db):
    rig = fleet_services.rig_create(name="cam-left", kind="video")[0]
    rig.online, rig.last_seen = True, timezone.now()
    rig.last_status = {"time": rig.last_seen.timestamp() - 0.25, "disk": {"path": "/d", "total": 500e9, "free": 12e9},
                       "spool": {"active": True, "fps": 29.5, "mb_s_disk": 61.0, "queue_fill": 0.25, "dropped": 3}}
    rig.save()
    return rig


def test_per_rig_and_dashboard_figures(rig):
    Transfer.objects.create(rig=rig, transfer_id="a", outcome="finalized", bytes_copied=1000)
    Transfer.objects.create(rig=rig, transfer_id="b", outcome="failed", bytes_copied=24)
    RigEvent.objects.create(rig=rig, seq=1, name="agent.started", time=timezone.now())
    Alert.objects.create(kind=AlertKind.DISK_LOW, rig=rig, title="low")
    response = Client().get("/metrics")  # from 127.0.0.1, in the default allow-list; no login needed
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    got = samples(response.content.decode())
    rig_label = (("rig", "cam-left"),)
    assert got[("labweb_rig_online", rig_label)] == 1
    assert got[("labweb_rig_disk_free_bytes", rig_label)] == 12e9
    assert got[("labweb_rig_spool_frames_per_second", rig_label)] == 29.5
    assert got[("labweb_rig_spool_write_bytes_per_second", rig_label)] == 61e6
    assert got[("labweb_rig_spool_queue_fill_ratio", rig_label)] == 0.25
    assert got[("labweb_rig_spool_series_dropped_frames", rig_label)] == 3
    assert got[("labweb_rig_copy_bytes_total", rig_label)] == 1024
    assert got[("labweb_rig_copy_failures_total", rig_label)] == 1
    assert got[("labweb_rig_clock_offset_seconds", rig_label)] == 0.25
    assert got[("labweb_agents_connected", ())] == 1
    assert got[("labweb_events_stored_total", ())] >= 1
    assert got[("labweb_alerts_active", (("kind", "disk_low"),))] == 1
    assert got[("labweb_browsers_connected", ())] >= 0  # counted from the channel layer (Redis: shared by other tests)


def test_refused_without_a_token_from_an_address_not_allowed(rig, settings):
    settings.LABWEB_METRICS_TOKEN = "s3cret-metrics"
    outside = Client(REMOTE_ADDR="10.1.2.3")
    assert outside.get("/metrics").status_code == 403
    assert outside.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert outside.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"}).status_code == 200
    settings.LABWEB_METRICS_ALLOW = ["10.1.0.0/16"]
    assert outside.get("/metrics").status_code == 200
    settings.LABWEB_METRICS_ALLOW = []
    assert Client().get("/metrics").status_code == 403  # not even loopback once the list is empty
