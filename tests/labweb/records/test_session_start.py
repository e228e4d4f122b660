"""Starting and ending a multi-rig session from the browser: number from the database, command to the main rig,
and a refusal (saying why) for a rig that is offline or already in a session."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group

from labweb.fleet import services as fleet_services
from labweb.fleet.choices import CommandState
from labweb.fleet.commands import agent_group
from labweb.fleet.models import Command, Rig
from labweb.fleet.roles import OPERATORS
from labweb.records import services
from labweb.records.choices import SessionState
from labweb.records.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab(django_user_model):
    rigs = {}
    for index, (name, kind) in enumerate([("behavior", "behavior"), ("cam-left", "video")]):
        rig, _ = fleet_services.rig_create(name=name, kind=kind, echo_uri=f"udp://127.0.0.1:{12001 + index}")
        Rig.objects.filter(pk=rig.pk).update(online=True, capabilities=["session.start", "session.stop"])
        rigs[name] = Rig.objects.get(pk=rig.pk)
    subject = services.subject_create(name="mouse_01")
    operator = django_user_model.objects.create_user("olga", password="x")
    operator.groups.add(Group.objects.get(name=OPERATORS))
    viewer = django_user_model.objects.create_user("victor", password="x")
    return rigs, subject, operator, viewer


def listen(rig_name: str) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(agent_group(rig_name), channel)
    return channel


def form(lab, **overrides):
    rigs, subject, *_ = lab
    data = {"subject": subject.pk, "rigs": [rigs["behavior"].pk, rigs["cam-left"].pk], "main": rigs["behavior"].pk,
            "main_sync": rigs["behavior"].pk}
    data.update(overrides)
    return data


def test_an_operator_starts_a_session_through_its_main_rig(client, lab):
    rigs, subject, operator, _ = lab
    channel = listen("behavior")
    client.force_login(operator)
    response = client.post("/sessions/start/", form(lab))
    session = Session.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.exp_ref}/"
    assert session.number == 1 and session.created_by == operator
    assert set(session.participants.values_list("rig__name", "is_main", "is_main_sync")) == {
        ("behavior", True, True), ("cam-left", False, False)}
    message = async_to_sync(get_channel_layer().receive)(channel)
    command = json.loads(message["text"])
    assert command["action"] == "session.start" and command["issued_by"] == "olga"
    assert command["params"] == {"subject": "mouse_01", "exp_ref": session.exp_ref, "main_sync": "behavior",
                                 "rigs": {"behavior": "udp://127.0.0.1:12001", "cam-left": "udp://127.0.0.1:12002"}}
    assert Command.objects.get().state == CommandState.SENT


def test_a_second_session_the_same_day_gets_the_next_number(client, lab):
    client.force_login(lab[2])
    client.post("/sessions/start/", form(lab))
    Session.objects.update(state=SessionState.STOPPED)  # the first one ended
    client.post("/sessions/start/", form(lab))
    assert sorted(Session.objects.values_list("number", flat=True)) == [1, 2]


def test_a_rig_in_a_session_is_refused_and_the_form_says_which_session_holds_it(client, lab):
    rigs, subject, operator, _ = lab
    client.force_login(operator)
    client.post("/sessions/start/", form(lab))
    first = Session.objects.get()
    page = client.get("/sessions/start/").content.decode()
    assert f"in session {first.exp_ref}" in page and "disabled" in page  # offered greyed out, with the reason
    response = client.post("/sessions/start/", form(lab))
    assert response.status_code == 200
    assert f"already in a session: behavior (in {first.exp_ref}), cam-left (in {first.exp_ref})" in response.content.decode()
    assert Session.objects.count() == 1 and Command.objects.count() == 1


def test_a_rig_whose_live_status_says_it_is_in_a_session_is_busy_too(client, lab):
    """A session an iblrig main started moments ago: the rig says so before its events reach the records."""
    rigs, _, operator, _ = lab
    Rig.objects.filter(name="cam-left").update(last_status={"session": {"state": "running", "active": True,
                                                                        "exp_ref": "2026-01-01_1_other"}})
    client.force_login(operator)
    response = client.post("/sessions/start/", form(lab))
    assert "cam-left (in 2026-01-01_1_other)" in response.content.decode() and not Session.objects.exists()


def test_a_start_the_main_rig_refuses_fails_the_session_with_its_reason(client, lab):
    rigs, _, operator, _ = lab
    client.force_login(operator)
    client.post("/sessions/start/", form(lab))
    command = Command.objects.get()
    fleet_services.command_record_reply(rig=rigs["behavior"], command_id=str(command.pk), ok=False, result=None,
                                        error="cannot reach the rigs: no route")
    session = Session.objects.get()
    assert session.state == SessionState.FAILED and "cannot reach the rigs: no route" in session.error
    assert client.get("/sessions/start/").content.decode().count("disabled") == 0  # the rigs are free again


def test_a_viewer_may_not_start_sessions(client, lab):
    client.force_login(lab[3])
    assert client.post("/sessions/start/", form(lab)).status_code == 403
    assert not Session.objects.exists()


def test_the_main_must_take_part(client, lab):
    rigs, _, operator, _ = lab
    client.force_login(operator)
    response = client.post("/sessions/start/", form(lab, rigs=[rigs["cam-left"].pk]))
    assert response.status_code == 200 and "must be one of the rigs taking part" in response.content.decode()
    assert not Session.objects.exists()


def test_an_offline_rig_is_refused_at_the_form(client, lab):
    rigs, _, operator, _ = lab
    client.force_login(operator)
    Rig.objects.filter(name="cam-left").update(online=False)
    assert "cam-left — offline" in client.get("/sessions/start/").content.decode()
    response = client.post("/sessions/start/", form(lab))
    assert "These rigs cannot take part: offline: cam-left." in response.content.decode()
    assert not Session.objects.exists() and not Command.objects.exists()


def test_stop_and_interrupt_go_to_the_main_rig(client, lab):
    rigs, subject, operator, _ = lab
    session = services.session_create(subject=subject, rigs=list(rigs.values()), main_rig=rigs["behavior"])
    Session.objects.filter(pk=session.pk).update(state=SessionState.RUNNING)
    channel = listen("behavior")
    client.force_login(operator)
    client.post(f"/sessions/{session.exp_ref}/control/", {"action": "interrupt"})
    command = json.loads(async_to_sync(get_channel_layer().receive)(channel)["text"])
    assert (command["action"], command["params"]) == ("session.interrupt", {"exp_ref": session.exp_ref})
    page = client.get(f"/sessions/{session.exp_ref}/").content.decode()
    assert "Interrupt" in page and ">Stop<" in page


def test_an_ended_session_cannot_be_stopped_again(client, lab):
    rigs, subject, operator, _ = lab
    session = services.session_create(subject=subject, rigs=list(rigs.values()), main_rig=rigs["behavior"])
    Session.objects.filter(pk=session.pk).update(state=SessionState.STOPPED)
    client.force_login(operator)
    response = client.post(f"/sessions/{session.exp_ref}/control/", {"action": "stop"}, follow=True)
    assert "has already ended (Stopped)" in response.content.decode() and not Command.objects.exists()
    assert 'id="session-controls" hidden' in client.get(f"/sessions/{session.exp_ref}/").content.decode()


def test_the_start_page_points_to_adding_a_subject_when_there_is_none(client, lab):
    rigs, subject, operator, _ = lab
    subject.is_active = False
    subject.save()
    client.force_login(operator)
    assert 'href="/subjects/add/"' in client.get("/sessions/start/").content.decode()


def test_two_rigs_registering_as_the_same_device_are_refused(client, lab):
    """Two camera PCs both tagged 'video' would write one stub on the server: the second copy would be counted
    as the first's, and the session finalized before it arrived."""
    rigs, _, operator, _ = lab
    Rig.objects.filter(name="behavior").update(tag="video")
    client.force_login(operator)
    response = client.post("/sessions/start/", form(lab))
    assert "behavior and cam-left are all &#x27;video&#x27; devices" in response.content.decode()
    assert not Session.objects.exists()
