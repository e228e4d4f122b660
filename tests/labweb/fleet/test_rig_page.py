"""The rig page: behind the login, with the rig's facts, its spool history, its commands and its events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from labweb.fleet import services as fleet_services
from labweb.fleet.models import Rig
from labweb.records import services
from tests.labweb.spooling.conftest import T0, result, started

pytestmark = pytest.mark.django_db


def test_the_page_needs_a_login(rig):
    response = Client().get("/rigs/cam-left/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_unknown_rig_is_404(viewer_client):
    assert viewer_client.get("/rigs/nope/").status_code == 404


def test_the_page_shows_the_rigs_facts(viewer_client, rig):
    Rig.objects.filter(pk=rig.pk).update(online=True, version="0.4.1", hostname="campc-07",
                                         last_seen=timezone.now() - dt.timedelta(seconds=3))
    response = viewer_client.get("/rigs/cam-left/")
    assert response.status_code == 200
    assert response.context["nav"] == "rigs"
    facts = response.content.decode()
    for text in ("Rig cam-left", "online", "video", "udp://127.0.0.1:11001", "0.4.1", "campc-07"):
        assert text in facts


def test_the_history_lists_each_series_with_its_counts_outcome_and_session(viewer_client, outbox):
    subject = services.subject_create(name="KS051")
    session = services.session_create(subject=subject, date=dt.date(2024, 3, 5))
    outbox.send(outbox.event("spool.started", started(exp_ref=session.exp_ref)),
                outbox.event("spool.stopped", result(frames=1234, dropped=5, exp_ref=session.exp_ref)),
                outbox.event("spool.refused", {"reason": "needs 512 GB, 40 GB free"}, at=T0 + 120))
    response = viewer_client.get("/rigs/cam-left/")
    runs = list(response.context["page"])
    assert [run.outcome for run in runs] == ["refused", "ok"]  # newest first
    html = response.content.decode()
    assert "2024-03-05_series_001.h5" in html
    assert '<td class="run-frames num">1234</td>' in html
    assert '<td class="run-dropped num error">5</td>' in html
    assert f'href="/sessions/{session.exp_ref}/"' in html
    assert "needs 512 GB, 40 GB free" in html


def test_the_history_is_only_this_rigs(viewer_client, outbox):
    other = fleet_services.rig_create(name="cam-right")[0]
    fleet_services.events_store(rig=other, events=[{"seq": 1, "name": "spool.stopped", "time": 0, "data": result("/x/other.h5")}])
    outbox.send(outbox.event("spool.stopped", result()))
    response = viewer_client.get("/rigs/cam-left/")
    assert [run.file_name for run in response.context["page"]] == ["2024-03-05_series_001.h5"]


def test_recent_commands_say_who_what_and_how_it_ended(viewer_client, rig, operator):
    Rig.objects.filter(pk=rig.pk).update(online=True)
    rig.refresh_from_db()
    command = fleet_services.command_issue(user=operator, rig=rig, action="spool.start", params={"compression": "blosc-zstd"})
    fleet_services.command_record_reply(rig=rig, command_id=str(command.pk), ok=False, result=None,
                                  error="preflight refused the series: needs 512 GB")
    html = viewer_client.get("/rigs/cam-left/").content.decode()
    assert "olga" in html
    assert "spool.start" in html and "compression=blosc-zstd" in html
    assert "Failed" in html and "preflight refused the series: needs 512 GB" in html


def test_recent_events_are_listed_newest_first(viewer_client, outbox):
    outbox.send(outbox.event("spool.started", started()), outbox.event("spool.warning", {"reason": "may not fit"}))
    events = viewer_client.get("/rigs/cam-left/").context["events"]
    assert [(e.seq, e.name) for e in events] == [(2, "spool.warning"), (1, "spool.started")]
    assert events[0].summary == "reason=may not fit"
