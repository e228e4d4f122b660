"""A reserved session number (records.services.session_reserve, asked for through the API): allocated as any
session's, holding no rig, and shown on every page as what it is until a rig reports the session."""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.db import connections

from labweb.fleet import services as fleet_services
from labweb.fleet.models import Rig
from labweb.live.vocabulary import vocabulary
from labweb.records import services
from labweb.records.choices import SessionState
from labweb.records.live import session_entry
from labweb.records.models import Session
from labweb.records.selectors import sessions_holding

RACERS = 8


@pytest.mark.django_db
def test_a_reservation_takes_the_next_number_and_says_it_is_one(subject, day, operator):
    services.session_create(subject=subject, date=day)
    reserved = services.session_reserve(subject=subject, date=day, reserved_by=operator)
    assert (reserved.exp_ref, reserved.state, reserved.created_by) == ("2024-03-05_2_KS051", "reserved", operator)
    assert Session.objects.get(pk=reserved.pk).state == SessionState.RESERVED
    assert not reserved.participants.exists()
    assert services.session_create(subject=subject, date=day).number == 3


@pytest.mark.django_db(transaction=True)
def test_reservations_racing_sessions_started_here_never_share_a_number(day):
    """Real connections and commits: SQLite by default, PostgreSQL with LABWEB_TEST_SCALE=1."""
    subject = services.subject_create(name="KS051")
    start = threading.Barrier(RACERS)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def racer(index: int) -> None:
        try:
            connections["default"].ensure_connection()
            start.wait(timeout=10)
            make = services.session_reserve if index % 2 else services.session_create
            numbers.append(make(subject=subject, date=day).number)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(numbers) == list(range(1, RACERS + 1))
    assert Session.objects.filter(state=SessionState.RESERVED).count() == RACERS // 2


@pytest.mark.django_db
def test_a_reserved_session_holds_no_rig(subject):
    rig, _ = fleet_services.rig_create(name="behavior", kind="behavior", echo_uri="udp://127.0.0.1:12001")
    Rig.objects.filter(pk=rig.pk).update(online=True)
    rig.refresh_from_db()
    services.session_reserve(subject=subject)
    assert sessions_holding(rigs=[rig]) == {}
    assert services.session_start_refusals(rigs=[rig], main=None) == {}  # the start form offers it


@pytest.mark.django_db
def test_pages_show_a_reservation_as_a_reserved_number_with_no_data_and_no_controls(operator_client, subject):
    reserved = services.session_reserve(subject=subject)
    listed = operator_client.get("/sessions/").content.decode()
    assert '<span class="badge grey">Number reserved</span>' in listed
    detail = operator_client.get(f"/sessions/{reserved.exp_ref}/").content.decode()
    assert re.search(r'id="session-state"[^>]*>Number reserved</span>', detail)
    assert re.search(r'id="session-data"[^>]*>Not recorded yet</span>', detail)
    assert 'id="session-controls" hidden' in detail  # nothing to stop
    entry = session_entry(reserved)
    assert (entry["label"], entry["active"], entry["data"]["label"]) == ("Number reserved", False, "Not recorded yet")
    assert vocabulary()["session_states"]["reserved"] == {"label": "Number reserved", "colour": "grey"}


@pytest.mark.django_db
def test_the_session_list_filters_reservations(operator_client, subject, day):
    services.session_create(subject=subject, date=day)
    reserved = services.session_reserve(subject=subject, date=day)
    page = operator_client.get("/sessions/", {"state": "reserved"})
    assert [s.exp_ref for s in page.context["page"]] == [reserved.exp_ref]


@pytest.mark.django_db
def test_a_rig_reporting_a_reserved_session_makes_it_an_ordinary_one(subject):
    reserved = services.session_reserve(subject=subject)
    rig, _ = fleet_services.rig_create(name="behavior", kind="behavior")
    fleet_services.events_store(rig=rig, events=[
        {"seq": 1, "time": time.time(), "name": "session.started", "data": {"exp_ref": reserved.exp_ref}}])
    reserved.refresh_from_db()
    assert reserved.state == SessionState.RUNNING and reserved.started_at is not None
    assert list(reserved.participants.values_list("rig__name", flat=True)) == ["behavior"]
