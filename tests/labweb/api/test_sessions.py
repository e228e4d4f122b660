"""Sessions through the API: read as their pages show them (rigs, copy states), started, stopped and interrupted
with the session form's checks and the same services, and session numbers reserved as the form allocates them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labweb.fleet import services as fleet_services
from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command, Rig
from labweb.records import services as records_services
from labweb.records.choices import SessionState
from labweb.records.models import Session, SessionRig, Subject

from .conftest import rig_online

pytestmark = pytest.mark.django_db

SESSION_PARTS = ["session.start", "session.stop", "session.interrupt"]


@pytest.fixture
def lab(db, subject):
    """A behaviour rig that can lead sessions and a camera, both online, each with its echo address."""
    return {"behavior": rig_online("behavior", kind="behavior", echo_port=12001, capabilities=SESSION_PARTS),
            "cam-left": rig_online("cam-left", kind="video", echo_port=12002, capabilities=SESSION_PARTS)}


START = {"subject": "KS051", "rigs": ["behavior", "cam-left"], "main": "behavior", "main_sync": "behavior"}


def refs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [session["exp_ref"] for session in response.json()["results"]]


# -- reading ----------------------------------------------------------------------------------------------------
@pytest.fixture
def sessions(lab, subject, day):
    other = records_services.subject_create(name="ZM_1")
    first = records_services.session_create(subject=subject, date=day, rigs=[lab["behavior"]], main_rig=lab["behavior"])
    second = records_services.session_create(subject=subject, date=day + dt.timedelta(days=1), rigs=[lab["cam-left"]])
    third = records_services.session_create(subject=other, date=day + dt.timedelta(days=2), rigs=[lab["behavior"]])
    Session.objects.filter(pk__in=[first.pk, third.pk]).update(state=SessionState.STOPPED)
    Session.objects.filter(pk=second.pk).update(state=SessionState.RUNNING)
    return first, second, third


@pytest.mark.parametrize("params, expected", [
    ({}, [2, 1, 0]),
    ({"subject": "KS051"}, [1, 0]),
    ({"rig": "behavior"}, [2, 0]),
    ({"state": "running"}, [1]),
    ({"date_from": "2024-03-06"}, [2, 1]),
    ({"date_to": "2024-03-06"}, [1, 0]),
    ({"date_from": "2024-03-06", "date_to": "2024-03-06"}, [1]),
    ({"subject": "KS051", "rig": "behavior"}, [0]),
    ({"subject": "nobody"}, []),
])
def test_sessions_filter_as_the_session_list_does(viewer_api, sessions, params, expected):
    assert refs(viewer_api.get("/api/v1/sessions/", **params)) == [sessions[i].exp_ref for i in expected]


@pytest.mark.parametrize("params, field", [({"date_from": "2024-03-07", "date_to": "2024-03-05"}, "date_to"),
                                           ({"date_from": "March"}, "date_from"), ({"state": "asleep"}, "state")])
def test_a_bad_filter_is_400_naming_the_field(viewer_api, sessions, params, field):
    response = viewer_api.get("/api/v1/sessions/", **params)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_sessions_are_paginated(viewer_api, subject, day):
    for _ in range(7):
        records_services.session_create(subject=subject, date=day)
    first = viewer_api.get("/api/v1/sessions/", page_size=5).json()
    assert first["count"] == 7 and len(first["results"]) == 5 and first["next"].endswith("page=2&page_size=5")
    second = viewer_api.get("/api/v1/sessions/", page_size=5, page=2).json()
    assert [s["number"] for s in first["results"] + second["results"]] == [7, 6, 5, 4, 3, 2, 1]
    assert viewer_api.get("/api/v1/sessions/", page=9).status_code == 404


def test_a_session_shows_its_rigs_and_their_copy_states_as_its_page(viewer_api, lab, subject, day):
    session = records_services.session_create(subject=subject, date=day, rigs=list(lab.values()),
                                              main_rig=lab["behavior"])
    SessionRig.objects.filter(session=session, rig=lab["behavior"]).update(copy_state=3, is_main_sync=True,
                                                                           state=SessionState.STOPPED)
    SessionRig.objects.filter(session=session, rig=lab["cam-left"]).update(copy_state=1, state=SessionState.STOPPED)
    Session.objects.filter(pk=session.pk).update(state=SessionState.STOPPED, created_by=None)
    shown = viewer_api.get(f"/api/v1/sessions/{session.exp_ref}/").json()
    assert (shown["exp_ref"], shown["subject"], shown["number"], shown["state"], shown["label"]) == (
        "2024-03-05_1_KS051", "KS051", 1, "stopped", "Stopped")
    assert shown["data"] == {"label": "Copied 1 of 2", "finalized": False, "at": None}
    assert [(r["rig"], r["is_main"], r["is_main_sync"], r["copy_state"], r["copy_label"]) for r in shown["rigs"]] == [
        ("behavior", True, True, 3, "Finalized"), ("cam-left", False, False, 1, "Pending")]
    assert shown["rigs"][0]["transfer"] is None and "colour" not in shown["rigs"][0]


def test_an_unknown_session_is_404(viewer_api):
    assert viewer_api.get("/api/v1/sessions/2024-01-01_1_nobody/").json() == {
        "detail": "No session '2024-01-01_1_nobody'."}


# -- starting -----------------------------------------------------------------------------------------------------
def test_an_operator_starts_a_session_as_the_start_page_does(agent_inbox, operator_api, operator, lab):
    inbox = agent_inbox("behavior")
    response = operator_api.post("/api/v1/sessions/start/", {**START, "duration": 600})
    assert response.status_code == 201, response.content
    session = Session.objects.get()
    assert response["Location"] == f"/api/v1/sessions/{session.exp_ref}/"
    assert (session.number, session.created_by, session.duration) == (1, operator, 600.0)
    assert set(session.participants.values_list("rig__name", "is_main", "is_main_sync")) == {
        ("behavior", True, True), ("cam-left", False, False)}
    command = Command.objects.get()
    body = response.json()
    assert (body["exp_ref"], body["state"], body["command"]["id"]) == (session.exp_ref, "created", str(command.pk))
    sent = inbox.receive()
    assert (sent["action"], sent["issued_by"]) == ("session.start", "olga")
    assert sent["params"] == {"subject": "KS051", "exp_ref": session.exp_ref, "main_sync": "behavior",
                              "duration": 600.0,
                              "rigs": {"behavior": "udp://127.0.0.1:12001", "cam-left": "udp://127.0.0.1:12002"}}


def test_a_rig_in_a_session_is_409_with_the_form_s_words_and_nothing_recorded(operator_api, lab):
    assert operator_api.post("/api/v1/sessions/start/", START).status_code == 201
    first = Session.objects.get()
    response = operator_api.post("/api/v1/sessions/start/", START)
    assert response.status_code == 409
    body = response.json()
    assert body["errors"] == {"rigs": [f"These rigs cannot take part: already in a session: behavior (in "
                                       f"{first.exp_ref}), cam-left (in {first.exp_ref})."]}
    assert body["detail"] == body["errors"]["rigs"][0]
    assert Session.objects.count() == 1 and Command.objects.count() == 1


def test_a_rig_an_iblrig_main_holds_is_busy_too(operator_api, lab):
    Rig.objects.filter(name="cam-left").update(last_status={"session": {"state": "running", "active": True,
                                                                        "exp_ref": "2026-01-01_1_other"}})
    response = operator_api.post("/api/v1/sessions/start/", START)
    assert response.status_code == 409 and "cam-left (in 2026-01-01_1_other)" in response.json()["detail"]


def test_an_offline_rig_is_409(operator_api, lab):
    Rig.objects.filter(name="cam-left").update(online=False)
    response = operator_api.post("/api/v1/sessions/start/", START)
    assert response.status_code == 409
    assert response.json()["detail"] == "These rigs cannot take part: offline: cam-left."
    assert not Session.objects.exists() and not Command.objects.exists()


@pytest.mark.parametrize("change, field, words", [
    ({"main": "cam-left", "rigs": ["behavior"]}, "main", "must be one of the rigs taking part"),
    ({"rigs": ["behavior", "cam-9"]}, "rigs", "No rig named 'cam-9'."),
    ({"subject": "nobody"}, "subject", "No subject named 'nobody'."),
    ({"rigs": []}, "rigs", "at least 1"),
    ({"duration": 0}, "duration", "greater than or equal to 1"),
])
def test_a_start_the_form_refuses_is_400_with_its_reason(operator_api, lab, change, field, words):
    response = operator_api.post("/api/v1/sessions/start/", {**START, **change})
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()["errors"][field])
    assert not Session.objects.exists() and not Command.objects.exists()


def test_an_inactive_subject_starts_no_session(operator_api, lab, subject):
    Subject.objects.filter(pk=subject.pk).update(is_active=False)
    response = operator_api.post("/api/v1/sessions/start/", START)
    assert response.status_code == 400 and "inactive" in response.json()["errors"]["subject"][0]


def test_a_rig_without_an_echo_address_cannot_take_part(operator_api, lab):
    rig_online("cam-right", capabilities=SESSION_PARTS)
    response = operator_api.post("/api/v1/sessions/start/", {**START, "rigs": ["behavior", "cam-right"]})
    assert response.status_code == 400 and "cam-right has no echo URI" in response.json()["errors"]["rigs"][0]


def test_a_main_rig_without_a_session_part_is_400(operator_api, lab):
    Rig.objects.filter(name="behavior").update(capabilities=[])
    response = operator_api.post("/api/v1/sessions/start/", START)
    assert response.status_code == 400 and "cannot lead a session" in response.json()["errors"]["main"][0]


def test_a_viewer_s_start_is_refused_and_recorded_as_a_refused_session_start(viewer_api, viewer, lab):
    response = viewer_api.post("/api/v1/sessions/start/", START)
    assert response.status_code == 403
    command = Command.objects.get()
    assert (command.rig.name, command.action, command.state, command.issued_by) == (
        "behavior", "session.start", CommandState.REFUSED, viewer)
    assert command.params["rigs"] == {"behavior": "udp://127.0.0.1:12001", "cam-left": "udp://127.0.0.1:12002"}
    assert response.json()["command"]["id"] == str(command.pk)
    assert not Session.objects.exists()  # no number taken, no failed session left behind


# -- stopping ------------------------------------------------------------------------------------------------------
@pytest.fixture
def running(lab, subject):
    session = records_services.session_create(subject=subject, rigs=list(lab.values()), main_rig=lab["behavior"])
    Session.objects.filter(pk=session.pk).update(state=SessionState.RUNNING)
    return Session.objects.get(pk=session.pk)


@pytest.mark.parametrize("verb, action", [("stop", "session.stop"), ("interrupt", "session.interrupt")])
def test_an_operator_stops_or_interrupts_through_the_main_rig(agent_inbox, operator_api, operator, running, verb,
                                                              action):
    inbox = agent_inbox("behavior")
    response = operator_api.post(f"/api/v1/sessions/{running.exp_ref}/{verb}/")
    assert response.status_code == 202
    command = Command.objects.get()
    assert (response.json()["id"], command.action, command.issued_by) == (str(command.pk), action, operator)
    assert (inbox.receive()["params"], command.params) == ({"exp_ref": running.exp_ref}, {"exp_ref": running.exp_ref})


@pytest.mark.parametrize("verb", ["stop", "interrupt"])
def test_a_viewer_s_stop_is_refused_and_recorded(viewer_api, viewer, running, verb):
    response = viewer_api.post(f"/api/v1/sessions/{running.exp_ref}/{verb}/")
    assert response.status_code == 403
    assert Command.objects.get().state == CommandState.REFUSED and Command.objects.get().issued_by == viewer


def test_stopping_an_ended_session_is_409(operator_api, running):
    Session.objects.filter(pk=running.pk).update(state=SessionState.STOPPED)
    response = operator_api.post(f"/api/v1/sessions/{running.exp_ref}/stop/")
    assert response.status_code == 409 and "has already ended (Stopped)" in response.json()["detail"]
    assert not Command.objects.exists()


def test_a_session_an_iblrig_main_leads_cannot_be_stopped_here(operator_api, subject, lab):
    session = records_services.session_create(subject=subject, rigs=[lab["cam-left"]])  # no main rig known
    response = operator_api.post(f"/api/v1/sessions/{session.exp_ref}/stop/")
    assert response.status_code == 409 and "no main rig" in response.json()["detail"]


def test_stopping_with_the_main_rig_offline_is_409_and_recorded(operator_api, running):
    Rig.objects.filter(name="behavior").update(online=False)
    response = operator_api.post(f"/api/v1/sessions/{running.exp_ref}/stop/")
    assert response.status_code == 409 and response.json()["command"]["state"] == "refused"


# -- reserving a number ------------------------------------------------------------------------------------------
def test_an_operator_reserves_the_next_number_of_today(operator_api, operator, subject):
    first = operator_api.post("/api/v1/sessions/reserve/", {"subject": "KS051"})
    second = operator_api.post("/api/v1/sessions/reserve/", {"subject": "KS051"})
    assert (first.status_code, second.status_code) == (201, 201)
    today = timezone.localdate().isoformat()
    assert [r.json()["exp_ref"] for r in (first, second)] == [f"{today}_1_KS051", f"{today}_2_KS051"]
    body = first.json()
    assert (body["state"], body["label"], body["active"], body["rigs"], body["created_by"]) == (
        "reserved", "Number reserved", False, [], "olga")
    assert body["data"]["label"] == "Not recorded yet"
    assert first["Location"] == f"/api/v1/sessions/{today}_1_KS051/"


def test_a_reserved_number_is_skipped_by_the_next_session_started_here(operator_api, lab):
    operator_api.post("/api/v1/sessions/reserve/", {"subject": "KS051"})
    response = operator_api.post("/api/v1/sessions/start/", START)
    assert response.status_code == 201 and response.json()["number"] == 2


def test_a_reserved_session_holds_no_rig(operator_api, lab):
    reserved = operator_api.post("/api/v1/sessions/reserve/", {"subject": "KS051"}).json()
    assert not SessionRig.objects.exists()
    assert operator_api.post("/api/v1/sessions/start/", START).status_code == 201  # both rigs free
    listed = operator_api.get("/api/v1/sessions/", state="reserved").json()["results"]
    assert [s["exp_ref"] for s in listed] == [reserved["exp_ref"]]


def test_a_number_for_another_day(operator_api, subject, day):
    response = operator_api.post("/api/v1/sessions/reserve/", {"subject": "KS051", "date": day.isoformat()})
    assert response.status_code == 201 and response.json()["exp_ref"] == "2024-03-05_1_KS051"


def test_a_viewer_may_not_reserve_numbers(viewer_api, subject):
    response = viewer_api.post("/api/v1/sessions/reserve/", {"subject": "KS051"})
    assert response.status_code == 403 and not Session.objects.exists()


@pytest.mark.parametrize("body, field", [({"subject": "nobody"}, "subject"), ({}, "subject"),
                                         ({"subject": "KS051", "date": "tomorrow"}, "date")])
def test_a_bad_reservation_is_400(operator_api, subject, body, field):
    response = operator_api.post("/api/v1/sessions/reserve/", body)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_a_rig_reporting_the_reserved_session_takes_it_over(operator_api, lab):
    """iblrig's main PC got the number, then ran the session: the rig's own report makes it an ordinary session."""
    exp_ref = operator_api.post("/api/v1/sessions/reserve/", {"subject": "KS051"}).json()["exp_ref"]
    fleet_services.events_store(rig=lab["cam-left"], events=[
        {"seq": 1, "time": timezone.now().timestamp(), "name": "session.initialized", "data": {"exp_ref": exp_ref}}])
    shown = operator_api.get(f"/api/v1/sessions/{exp_ref}/").json()
    assert (shown["state"], [r["rig"] for r in shown["rigs"]]) == ("initialized", ["cam-left"])
