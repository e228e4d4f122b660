"""Rig history: samples of the live board folded into 10 s rows (means, minima, maxima, drops per interval), the
charts' columns over an hour, a day and a week, the disk-full forecast, and pruning past the retention."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.management import call_command

from labweb.fleet import services as fleet_services
from labweb.history.models import RigSample
from labweb.history.sampler import Sampler, samples_store
from labweb.history.selectors import disk_full_forecast, rig_history
from labweb.history.services import history_prune
from labweb.transfers.models import Transfer

pytestmark = pytest.mark.django_db
T0 = 1_800_000_000  # a multiple of 10: the start of an interval


@pytest.fixture
def rig(db):
    return fleet_services.rig_create(name="cam-left", kind="video")[0]


def entry(*, fps=30.0, mb=50.0, queue=0.1, dropped=0, file="/d/a.h5", free=100e9, active=True, copy=None) -> dict:
    return {"state": "spooling" if active else "idle",
            "spool": {"active": active, "fps": fps, "mb_s_disk": mb, "queue_fill": queue, "dropped": dropped, "file": file},
            "disk": {"path": "/d", "total": 500e9, "free": free}, "transfer": copy}


def test_samples_fold_into_one_row_per_interval_with_means_minima_maxima_and_drops(rig):
    sampler = Sampler(10)
    ids = {"cam-left": rig.pk}
    assert sampler.sample({"cam-left": entry(fps=30, mb=40, queue=0.1, dropped=5, free=100e9)}, ids, T0 + 1) == []
    sampler.sample({"cam-left": entry(fps=20, mb=60, queue=0.7, dropped=9, free=99e9)}, ids, T0 + 5)
    sampler.sample({"cam-left": entry(fps=25, mb=50, queue=0.2, dropped=2, file="/d/b.h5", free=98e9)}, ids, T0 + 9)
    [row] = sampler.sample({"cam-left": entry(dropped=2, file="/d/b.h5")}, ids, T0 + 11)
    assert (row.t, row.fps, row.fps_min, row.mb_s, row.mb_s_max, row.queue_max) == (T0, 25.0, 20.0, 50.0, 60.0, 0.7)
    # 5 at the first sample, 4 more in a.h5, then 2 in the new series b.h5
    assert (row.drops, row.disk_free, row.disk_total, row.state) == (11, 98e9, 500e9, "spooling")
    samples_store([row])
    samples_store([row])  # a second process writing the same interval: one row
    assert RigSample.objects.count() == 1


def test_a_rig_no_longer_connected_closes_its_interval_and_gets_no_more_rows(rig):
    sampler = Sampler(10)
    sampler.sample({"cam-left": entry()}, {"cam-left": rig.pk}, T0 + 1)
    [row] = sampler.sample({}, {}, T0 + 12)
    assert row.t == T0
    assert sampler.sample({}, {}, T0 + 25) == []


def test_an_idle_camera_records_zero_rates_and_a_copy_its_rate(rig):
    sampler = Sampler(10)
    copying = {"active": True, "rate": 8e6, "bytes_done": 1000}
    sampler.sample({"cam-left": entry(active=False, copy=copying)}, {"cam-left": rig.pk}, T0)
    [row] = sampler.flush()
    assert (row.fps, row.mb_s, row.copy_rate, row.copy_bytes) == (0.0, 0.0, 8e6, 1000)


def fill(rig, start: int, count: int, step: int = 10, **values) -> None:
    RigSample.objects.bulk_create([RigSample(rig=rig, t=start + i * step, **values) for i in range(count)])


def test_chart_columns_per_range_in_wider_buckets_with_online_share(rig, viewer_client):
    now = T0 + 7 * 86400
    fill(rig, now - 3600, 360, fps=30.0, fps_min=29.0, mb_s=50.0, mb_s_max=55.0, drops=1, disk_free=100, queue_max=0.5)
    hour = rig_history(rig=rig, range_name="hour", now=now)
    assert hour["width"] == 10 and len(hour["t"]) == 360 and set(hour["online"]) == {1.0}
    day = rig_history(rig=rig, range_name="day", now=now)
    assert day["width"] == 60 and len(day["t"]) == 60
    assert (day["fps"][0], day["fps_min"][0], day["mb_s_max"][0], day["drops"][0]) == (30.0, 29.0, 55.0, 6)
    RigSample.objects.filter(t__gte=now - 1800, t__lt=now - 1500).delete()  # offline for 5 minutes
    week = rig_history(rig=rig, range_name="week", now=now)
    assert week["width"] == 600 and len(week["t"]) == 6
    assert sorted(week["online"]) == [0.5, 1.0, 1.0, 1.0, 1.0, 1.0]
    response = viewer_client.get("/rigs/cam-left/history.json?range=day")
    assert response.status_code == 200 and response.json()["range"] == "day"
    assert viewer_client.get("/rigs/cam-left/history.json?range=year").status_code == 400
    assert viewer_client.get("/rigs/nobody/history.json").status_code == 404


def test_the_cards_get_every_rigs_last_minutes(rig, viewer_client):
    now = int(time.time()) // 10 * 10
    fill(rig, now - 600, 60, fps=20.0, mb_s=10.0)
    fill(rig, now - 7200, 10, fps=1.0, mb_s=1.0)  # too old for the card
    data = viewer_client.get("/history/recent.json?minutes=15").json()["rigs"]
    assert list(data) == ["cam-left"] and len(data["cam-left"]["t"]) == 60 and set(data["cam-left"]["fps"]) == {20.0}


def test_the_disk_full_forecast_uses_the_spoolers_rate_else_the_trend(rig):
    now = time.time()
    rig.last_status = {"disk": {"free": 100e9, "total": 500e9}, "spool": {"active": True, "mb_s_disk": 100.0}}
    rig.save()
    forecast = disk_full_forecast(rig=rig, now=now)
    assert forecast["basis"] == "spooler" and forecast["at"] == pytest.approx(now + 1000)
    rig.last_status = {"disk": {"free": 100e9, "total": 500e9}}
    rig.save()
    assert disk_full_forecast(rig=rig, now=now) is None
    start = int(now) - 600
    RigSample.objects.bulk_create([RigSample(rig=rig, t=start + i * 10, disk_free=int(106e9 - i * 0.1e9)) for i in range(60)])
    forecast = disk_full_forecast(rig=rig, now=now)  # 10 MB/s fall over the last 10 minutes
    assert forecast["basis"] == "trend" and forecast["rate"] == pytest.approx(10e6)


def test_the_chart_lists_the_copies_of_the_period(rig):
    now = T0 + 86400
    when = dt.datetime.fromtimestamp(now - 600, tz=dt.UTC)
    Transfer.objects.create(rig=rig, transfer_id="t1", exp_ref="2024-05-01_1_ZM_001", outcome="failed",
                            started_at=when, error="share gone")
    [copy] = rig_history(rig=rig, range_name="hour", now=now)["copies"]
    assert (copy["exp_ref"], copy["outcome"], copy["error"]) == ("2024-05-01_1_ZM_001", "failed", "share gone")


def test_pruning_keeps_the_retention_and_the_command_says_how_much_went(rig, settings, capsys):
    now = time.time()
    fill(rig, int(now - 40 * 86400), 5, step=86400)  # 40, 39, 38, 37, 36 days ago
    fill(rig, int(now - 3600), 5)
    assert history_prune(days=37.5, now=now) == 3
    settings.LABWEB_HISTORY_RETENTION_DAYS = 30
    call_command("history", "prune")
    assert "pruned 2 history rows" in capsys.readouterr().out
    assert RigSample.objects.count() == 5
