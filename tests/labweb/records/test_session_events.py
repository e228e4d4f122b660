"""Rig events become session records: created by exp_ref when unknown, per-rig states, forward-only."""

from __future__ import annotations

import itertools

import pytest

from labweb.fleet import services as fleet_services
from labweb.records import services
from labweb.records.choices import SessionOrigin, SessionState
from labweb.records.models import Session, SessionRig, Subject

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)
EXP_REF = "2026-11-21_3_mouse_07"


@pytest.fixture
def rigs():
    camera, _ = fleet_services.rig_create(name="cam-left", kind="video")
    behavior, _ = fleet_services.rig_create(name="behavior", kind="behavior")
    return behavior, camera


def send(rig, name, when=1_800_000_000.0, **data):
    fleet_services.events_store(rig=rig, events=[{"seq": next(_seq), "time": when, "name": name, "data": data}])


def test_a_session_no_one_told_the_dashboard_about_is_created_from_rig_reports(rigs):
    behavior, camera = rigs
    send(camera, "echo.message", exp_ref=EXP_REF, direction="received", kind="request", message="EXPINIT")
    session = Session.objects.get(exp_ref=EXP_REF)
    assert (session.subject.name, str(session.date), session.number) == ("mouse_07", "2026-11-21", 3)
    assert session.origin == SessionOrigin.AGENT
    assert list(session.participants.values_list("rig__name", flat=True)) == ["cam-left"]


def test_each_rigs_lifecycle_moves_its_state_and_the_sessions(rigs):
    behavior, camera = rigs
    for rig in rigs:
        send(rig, "session.initialized", exp_ref=EXP_REF)
    send(behavior, "session.started", when=1_800_000_010.0, exp_ref=EXP_REF)
    session = Session.objects.get(exp_ref=EXP_REF)
    assert session.state == SessionState.RUNNING and session.started_at.timestamp() == 1_800_000_010.0
    states = dict(session.participants.values_list("rig__name", "state"))
    assert states == {"behavior": SessionState.RUNNING, "cam-left": SessionState.INITIALIZED}
    for rig in rigs:
        send(rig, "session.stopped", when=1_800_000_070.0, exp_ref=EXP_REF)
        send(rig, "session.cleaned_up", exp_ref=EXP_REF)
    session.refresh_from_db()
    assert session.state == SessionState.STOPPED and session.ended_at.timestamp() == 1_800_000_070.0
    assert set(session.participants.values_list("state", flat=True)) == {SessionState.STOPPED}  # cleanup keeps it


def test_a_late_event_never_takes_a_session_back(rigs):
    _, camera = rigs
    send(camera, "session.stopped", exp_ref=EXP_REF)
    send(camera, "session.started", exp_ref=EXP_REF)  # delivered late, after a reconnect
    assert Session.objects.get(exp_ref=EXP_REF).state == SessionState.STOPPED


def test_an_interrupt_sticks(rigs):
    behavior, camera = rigs
    send(camera, "session.interrupted", exp_ref=EXP_REF)
    send(behavior, "session.stopped", exp_ref=EXP_REF)
    assert Session.objects.get(exp_ref=EXP_REF).state == SessionState.INTERRUPTED


def test_the_main_and_main_sync_are_marked(rigs):
    behavior, camera = rigs
    send(behavior, "session.main_started", exp_ref=EXP_REF, rigs=["behavior", "cam-left"])
    send(behavior, "session.main_running", exp_ref=EXP_REF, main_sync="cam-left")
    parts = {p.rig.name: p for p in SessionRig.objects.select_related("rig")}
    assert parts["behavior"].is_main and not parts["behavior"].is_main_sync
    assert parts["cam-left"].is_main_sync


def test_a_failed_main_marks_the_session_failed(rigs):
    behavior, _ = rigs
    send(behavior, "session.main_ended", exp_ref=EXP_REF, ok=False, error="ghost did not answer", interrupted=True)
    assert Session.objects.get(exp_ref=EXP_REF).state == SessionState.FAILED


def test_a_dashboard_session_is_filled_in_not_duplicated(rigs):
    behavior, camera = rigs
    subject = services.subject_create(name="mouse_08")
    session = services.session_create(subject=subject, rigs=[behavior, camera], main_rig=behavior)
    send(camera, "session.started", exp_ref=session.exp_ref)
    assert Session.objects.count() == 1
    assert session.participants.get(rig=camera).state == SessionState.RUNNING


def test_a_dotted_subject_in_a_report_is_refused_but_the_event_kept(rigs, caplog):
    _, camera = rigs
    send(camera, "session.started", exp_ref="2026-11-21_1_mouse.07")
    assert not Session.objects.exists() and not Subject.objects.exists()
    assert camera.events.filter(name="session.started").exists()
    assert "mouse.07" in caplog.text


def test_a_session_runs_until_its_main_ends_it_whatever_order_the_rigs_report_in(rigs):
    behavior, camera = rigs
    send(behavior, "session.main_started", exp_ref=EXP_REF, duration=20)
    for rig in rigs:
        send(rig, "session.started", exp_ref=EXP_REF)
    send(behavior, "session.stopped", exp_ref=EXP_REF)  # one rig done, the other still recording
    assert Session.objects.get(exp_ref=EXP_REF).state == SessionState.RUNNING
    send(behavior, "session.main_ended", when=1_800_000_020.0, exp_ref=EXP_REF, ok=True, ended_by="duration",
         interrupted=False, error=None, failures={})
    send(camera, "session.stopped", exp_ref=EXP_REF)  # its report arrives after the main's
    session = Session.objects.get(exp_ref=EXP_REF)
    assert (session.state, session.ended_by, session.duration) == (SessionState.STOPPED, "duration", 20.0)
    assert session.ended_at.timestamp() == 1_800_000_020.0


def test_a_rig_that_did_not_answer_the_end_is_named_in_the_session(rigs):
    behavior, camera = rigs
    send(camera, "session.started", exp_ref=EXP_REF)
    send(behavior, "session.main_ended", exp_ref=EXP_REF, ok=False, ended_by="stop", interrupted=False, error=None,
         failures={"cam-left": "no echo after 3 attempts"})
    session = Session.objects.get(exp_ref=EXP_REF)
    assert session.state == SessionState.STOPPED and session.error == "cam-left: no echo after 3 attempts"


def test_a_restarted_agent_loses_its_part_and_a_restarted_main_ends_the_session(rigs):
    behavior, camera = rigs
    send(behavior, "session.main_started", exp_ref=EXP_REF)
    for rig in rigs:
        send(rig, "session.started", exp_ref=EXP_REF)
    send(camera, "agent.started", when=1_900_000_000.0, pid=2)
    session = Session.objects.get(exp_ref=EXP_REF)
    assert session.state == SessionState.RUNNING
    assert session.participants.get(rig=camera).state == SessionState.INTERRUPTED
    send(behavior, "agent.started", when=1_900_000_001.0, pid=3)
    session.refresh_from_db()
    assert session.state == SessionState.INTERRUPTED and "agent restarted" in session.error


def test_a_dotted_subject_cannot_come_in_through_a_rig_either(rigs):
    """One rule for subject names, whichever way they arrive: `add` is refused by the form and by the events."""
    _, camera = rigs
    send(camera, "session.started", exp_ref="2026-11-21_1_add")
    assert not Session.objects.exists() and not Subject.objects.exists()
