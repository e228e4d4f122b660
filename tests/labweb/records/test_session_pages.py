"""Session pages: the filtered, paginated list and the detail with its rigs and their events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labweb.fleet import services as fleet_services
from labweb.fleet.models import RigEvent
from labweb.records import services
from labweb.records.choices import CopyState, SessionState
from labweb.records.models import Session, SessionRig

pytestmark = pytest.mark.django_db


def refs_listed(response) -> list[str]:
    return [session.exp_ref for session in response.context["page"]]


@pytest.fixture
def rigs(db):
    return {name: fleet_services.rig_create(name=name, kind=kind)[0]
            for name, kind in [("behavior-1", "behavior"), ("cam-left", "video"), ("ephys-1", "ephys")]}


@pytest.fixture
def sessions(subject, rigs, day):
    """Three sessions that differ in subject, rig, date and state, one at a time."""
    other = services.subject_create(name="ZM_1")
    first = services.session_create(subject=subject, date=day, rigs=[rigs["behavior-1"]])
    second = services.session_create(subject=subject, date=day + dt.timedelta(days=1), rigs=[rigs["cam-left"]])
    third = services.session_create(subject=other, date=day + dt.timedelta(days=2), rigs=[rigs["behavior-1"]])
    Session.objects.filter(pk=second.pk).update(state=SessionState.RUNNING)
    return first, second, third


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, [2, 1, 0]),
        ({"subject": "KS051"}, [1, 0]),
        ({"rig": "behavior-1"}, [2, 0]),
        ({"state": "running"}, [1]),
        ({"date_from": "2024-03-06"}, [2, 1]),
        ({"date_to": "2024-03-06"}, [1, 0]),
        ({"date_from": "2024-03-06", "date_to": "2024-03-06"}, [1]),
        ({"subject": "KS051", "rig": "behavior-1"}, [0]),
    ],
    ids=["none", "subject", "rig", "state", "from", "to", "one-day", "subject+rig"],
)
def test_each_filter_narrows_the_list(viewer_client, sessions, params, expected):
    response = viewer_client.get("/sessions/", params)
    assert response.status_code == 200
    assert response.context["nav"] == "sessions"
    assert refs_listed(response) == [sessions[i].exp_ref for i in expected]


def test_a_reversed_date_range_is_reported(viewer_client, sessions):
    response = viewer_client.get("/sessions/", {"date_from": "2024-03-07", "date_to": "2024-03-05"})
    assert "The end date is before the start date." in response.content.decode()


def test_an_unknown_filter_value_is_reported_not_a_crash(viewer_client, sessions):
    response = viewer_client.get("/sessions/", {"state": "exploded"})
    assert response.status_code == 200
    assert "state" in response.context["form"].errors


def test_the_list_is_paginated_by_50_and_pages_keep_the_filters(viewer_client, subject, day):
    for _ in range(51):
        services.session_create(subject=subject, date=day)
    first = viewer_client.get("/sessions/", {"subject": "KS051"})
    assert len(refs_listed(first)) == 50
    assert "?subject=KS051&amp;page=2" in first.content.decode()
    second = viewer_client.get("/sessions/", {"subject": "KS051", "page": 2})
    assert refs_listed(second) == [f"{day.isoformat()}_1_KS051"]


def test_the_list_shows_state_badges_with_their_colour(viewer_client, sessions):
    content = viewer_client.get("/sessions/").content.decode()
    assert '<span class="badge green">Running</span>' in content
    assert '<span class="badge grey">Created</span>' in content


@pytest.fixture
def multi_rig_session(subject, rigs, day):
    session = services.session_create(
        subject=subject, date=day, rigs=[rigs["behavior-1"], rigs["cam-left"], rigs["ephys-1"]],
        main_rig=rigs["behavior-1"],
    )
    SessionRig.objects.filter(session=session, rig=rigs["behavior-1"]).update(
        is_main_sync=True, state=SessionState.STOPPED, copy_state=CopyState.FINALIZED
    )
    SessionRig.objects.filter(session=session, rig=rigs["cam-left"]).update(
        state=SessionState.RUNNING, copy_state=CopyState.PENDING
    )
    return session


def participant_rows(response) -> dict[str, dict]:
    return {part["rig"]: part for part in response.context["entry"]["rigs"]}


def test_detail_shows_the_rigs_that_took_part(viewer_client, multi_rig_session):
    response = viewer_client.get(f"/sessions/{multi_rig_session.exp_ref}/")
    assert response.status_code == 200
    assert list(participant_rows(response)) == ["behavior-1", "cam-left", "ephys-1"]  # main rig first
    content = response.content.decode()
    assert '<td class="rig-role">leads, clock (main sync)</td>' in content


def test_detail_shows_each_rigs_copy_state_with_its_label(viewer_client, multi_rig_session):
    response = viewer_client.get(f"/sessions/{multi_rig_session.exp_ref}/")
    rows = participant_rows(response)
    assert {name: (row["copy_label"], row["copy_colour"]) for name, row in rows.items()} == {
        "behavior-1": ("Finalized", "green"),
        "cam-left": ("Pending", "orange"),
        "ephys-1": ("Not registered yet", "grey"),  # nothing reported yet: no guess about the server
    }
    content = response.content.decode()
    assert '<span class="badge copy-state green">3 · Finalized</span>' in content
    assert '<span class="badge copy-state orange">1 · Pending</span>' in content
    assert '<span class="badge rig-state green">Running</span>' in content  # cam-left's lifecycle state


def test_a_failed_copy_shows_beside_the_state_the_server_holds(viewer_client, multi_rig_session, rigs):
    """The state on the server and the last copy's outcome are two facts; the page shows both."""
    ref = multi_rig_session.exp_ref
    fleet_services.events_store(rig=rigs["cam-left"], events=[
        {"seq": 1, "time": 1_709_640_000.0, "name": "transfer.started", "data": {"id": "t1", "exp_ref": ref}},
        {"seq": 2, "time": 1_709_640_010.0, "name": "transfer.failed",
         "data": {"id": "t1", "exp_ref": ref, "outcome": "failed", "error": "server share unreachable",
                  "state_before": 1, "state_after": 1}}])
    content = viewer_client.get(f"/sessions/{ref}/").content.decode()
    row = content[content.index('data-rig="cam-left"'):]
    row = row[:row.index("</tr>")]
    assert "1 · Pending" in row and "Failed" in row and "server share unreachable" in row


def _event(rig, seq, name, exp_ref, second, **data):
    return RigEvent.objects.create(
        rig=rig, seq=seq, name=name, data={"exp_ref": exp_ref, **data},
        time=timezone.make_aware(dt.datetime(2024, 3, 5, 10, 0, second), dt.UTC),
    )


def test_detail_shows_this_sessions_events_per_rig_in_time_order(viewer_client, multi_rig_session, rigs):
    ref = multi_rig_session.exp_ref
    _event(rigs["cam-left"], 2, "spool.started", ref, 3, file="2024-03-05_series.h5")
    _event(rigs["behavior-1"], 8, "session.stopped", ref, 9)
    _event(rigs["behavior-1"], 7, "session.started", ref, 1)
    _event(rigs["behavior-1"], 9, "session.started", "2024-03-05_2_KS051", 20)  # another session
    RigEvent.objects.create(rig=rigs["cam-left"], seq=3, name="disk.low", time=timezone.now(), data={})

    response = viewer_client.get(f"/sessions/{ref}/")
    log = [(e.rig.name, e.seq, e.name, e.summary) for e in response.context["page"]]
    assert log == [("behavior-1", 7, "session.started", ""), ("cam-left", 2, "spool.started",
                    "file=2024-03-05_series.h5"), ("behavior-1", 8, "session.stopped", "")]  # in time order
    assert "2024-03-05 10:00:03.000" in response.content.decode()
    one_rig = viewer_client.get(f"/sessions/{ref}/", {"rig": "cam-left"}).context["page"]
    assert [e.seq for e in one_rig] == [2]
    story = [line.text for line in response.context["story"]]
    assert "Started recording (writing 2024-03-05_series.h5)." not in story  # spool.started is the log's
    assert story.count("Started recording.") == 1 and "Stopped." in story


def test_a_long_event_summary_is_shortened(viewer_client, multi_rig_session, rigs):
    _event(rigs["cam-left"], 1, "spool.failed", multi_rig_session.exp_ref, 0, error="x" * 500)
    response = viewer_client.get(f"/sessions/{multi_rig_session.exp_ref}/")
    [event] = response.context["page"]
    assert len(event.summary) == 160 and event.summary.endswith("…")


def test_detail_without_events_tells_how_it_started_and_shows_an_empty_log(viewer_client, multi_rig_session):
    response = viewer_client.get(f"/sessions/{multi_rig_session.exp_ref}/")
    assert list(response.context["page"]) == []
    assert [line.text for line in response.context["story"]][0].startswith("Started by the rigs' report")
    assert "Every event the rigs reported (<span id=\"event-count\">0</span>)" in response.content.decode()


def test_the_story_says_what_failed_and_why_in_plain_words(viewer_client, multi_rig_session, rigs):
    ref = multi_rig_session.exp_ref
    _event(rigs["cam-left"], 4, "echo.message", ref, 2, direction="sent", kind="error", message="EXPINIT",
           payload=["SessionBusy: cam-left is in session 2024-03-05_9_KS051; end it before starting another", 1])
    Session.objects.filter(pk=multi_rig_session.pk).update(state=SessionState.FAILED, ended_by="error",
                                                          ended_at=timezone.now(), error="cam-left did not start")
    response = viewer_client.get(f"/sessions/{ref}/")
    problems = [(line.rig, line.text) for line in response.context["story"] if line.problem]
    assert ("cam-left", "refused EXPINIT: SessionBusy: cam-left is in session 2024-03-05_9_KS051; end it before "
                        "starting another.") in problems
    assert ("", "The session failed. cam-left did not start") in problems


def test_unknown_session_is_404(viewer_client):
    assert viewer_client.get("/sessions/2024-01-01_1_nobody/").status_code == 404


def test_the_story_alone_is_served_for_the_live_page_to_redraw(viewer_client, multi_rig_session, rigs):
    ref = multi_rig_session.exp_ref
    _event(rigs["cam-left"], 4, "echo.message", ref, 2, direction="sent", kind="error", message="EXPINIT",
           payload=["SessionBusy: cam-left is busy", 1])
    response = viewer_client.get(f"/sessions/{ref}/story/")
    assert response.status_code == 200
    text = response.content.decode()
    assert text.lstrip().startswith("<li") and "<html" not in text  # a fragment, not a page
    assert "refused EXPINIT: SessionBusy: cam-left is busy." in text
    assert response["X-Event-Count"] == "1"  # the folded log's count, redrawn with it
    assert viewer_client.get("/sessions/2024-01-01_1_nobody/story/").status_code == 404
