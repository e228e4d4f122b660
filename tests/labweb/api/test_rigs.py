"""Rigs through the API: their live state as the cards show it, and spooling and copies started on one rig or
several, with the rigs page's rules (operators only, online rigs only; every command recorded, refusals too)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labweb.alerts.choices import AlertKind, AlertState
from labweb.alerts.models import Alert
from labweb.fleet import services as fleet_services
from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command, Rig

from .conftest import rig_online

pytestmark = pytest.mark.django_db

SPOOLING = {"state": "spooling", "spool": {"state": "running", "file": "D:/spool/2024-03-05_series_001.h5",
                                           "compression": "blosc-lz4", "frames": 1200, "fps": 30.0, "dropped": 2,
                                           "active": True},
            "disk": {"path": "D:/", "total": 1000, "free": 400}}


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [rig["name"] for rig in response.json()["results"]]


def test_a_rig_shows_its_live_state_from_its_last_status(viewer_api):
    rig_online("cam.left", capabilities=["spool.start"], status=SPOOLING)
    rig = viewer_api.get("/api/v1/rigs/cam.left/").json()
    assert (rig["name"], rig["online"], rig["state"]) == ("cam.left", True, "spooling")
    assert rig["spool"]["frames"] == 1200 and rig["spool"]["dropped"] == 2 and rig["spool"]["active"] is True
    assert rig["spool"]["file"] == "D:/spool/2024-03-05_series_001.h5"
    assert rig["disk"] == {"path": "D:/", "total": 1000, "free": 400}
    assert rig["capabilities"] == ["spool.start"] and rig["hostname"] == "cam.left-pc"
    assert rig["transfer"] is None and rig["last_seen"].endswith("Z")


def test_a_rig_the_dashboard_stopped_hearing_is_offline_with_its_last_parts(viewer_api):
    rig = rig_online("cam-left", status=SPOOLING)
    Rig.objects.filter(pk=rig.pk).update(last_seen=timezone.now() - dt.timedelta(minutes=5))  # its process died
    shown = viewer_api.get("/api/v1/rigs/cam-left/").json()
    assert (shown["online"], shown["state"]) == (False, "offline")
    assert shown["spool"]["file"].endswith("_001.h5")  # the last series, as the card keeps it


def test_a_never_connected_rig_is_offline(viewer_api):
    fleet_services.rig_create(name="ephys-1", kind="ephys")
    shown = viewer_api.get("/api/v1/rigs/ephys-1/").json()
    assert (shown["online"], shown["state"], shown["last_seen"], shown["spool"]) == (False, "offline", None, None)


def test_rigs_filter_by_kind_online_and_state(viewer_api):
    rig_online("cam-left", status=SPOOLING)
    rig_online("cam-right", status={"state": "idle"})
    rig_online("behavior-1", kind="behavior")  # no status saved yet: idle
    gone = rig_online("cam-gone", status=SPOOLING)
    Rig.objects.filter(pk=gone.pk).update(online=False)
    assert names(viewer_api.get("/api/v1/rigs/")) == ["behavior-1", "cam-gone", "cam-left", "cam-right"]
    assert names(viewer_api.get("/api/v1/rigs/", kind="video")) == ["cam-gone", "cam-left", "cam-right"]
    assert names(viewer_api.get("/api/v1/rigs/", online="false")) == ["cam-gone"]
    assert names(viewer_api.get("/api/v1/rigs/", online="true")) == ["behavior-1", "cam-left", "cam-right"]
    assert names(viewer_api.get("/api/v1/rigs/", state="spooling")) == ["cam-left"]
    assert names(viewer_api.get("/api/v1/rigs/", state="idle")) == ["behavior-1", "cam-right"]
    assert names(viewer_api.get("/api/v1/rigs/", state="offline")) == ["cam-gone"]
    bad = viewer_api.get("/api/v1/rigs/", state="asleep")
    assert bad.status_code == 400 and "state" in bad.json()["errors"]


def test_an_unknown_rig_is_404_in_json(viewer_api):
    response = viewer_api.get("/api/v1/rigs/cam-9/")
    assert response.status_code == 404 and response.json() == {"detail": "No rig 'cam-9'."}


def test_a_rig_lists_its_active_alerts_and_not_resolved_ones(viewer_api, cameras):
    assert {len(rig["open_alerts"]) for rig in viewer_api.get("/api/v1/rigs/").json()["results"]} == {0}
    left = Rig.objects.get(name="cam-left")
    disk = Alert.objects.create(kind=AlertKind.DISK_LOW, rig=left, title="cam-left: disk 95% full")
    Alert.objects.create(kind=AlertKind.DISK_LOW, rig=left, key="old", title="cleared", state=AlertState.RESOLVED,
                         resolved_at=timezone.now())
    shown = {rig["name"]: rig["open_alerts"] for rig in viewer_api.get("/api/v1/rigs/").json()["results"]}
    assert [alert["id"] for alert in shown["cam-left"]] == [disk.pk] and shown["cam-right"] == []
    assert shown["cam-left"][0]["title"] == "cam-left: disk 95% full" and shown["cam-left"][0]["state"] == "open"


# -- commands to one rig ----------------------------------------------------------------------------------------
def test_an_operator_starts_spooling_with_the_panel_s_settings(agent_inbox, operator_api, operator, cameras):
    inbox = agent_inbox("cam-left")
    response = operator_api.post("/api/v1/rigs/cam-left/spool/start/",
                                 {"compression": "blosc-zstd", "max_frames": 500, "preflight": "warn"})
    assert response.status_code == 202
    command = Command.objects.get()
    assert response.json()["id"] == str(command.pk) and response.json()["state"] == "sent"
    assert (command.issued_by, command.state, command.action) == (operator, CommandState.SENT, "spool.start")
    sent = inbox.receive()
    assert (sent["type"], sent["id"], sent["action"], sent["issued_by"]) == ("command", str(command.pk),
                                                                             "spool.start", "olga")
    assert sent["params"] == {"compression": "blosc-zstd", "max_frames": 500, "preflight": "warn"}


def test_spooling_without_settings_takes_the_rig_s_defaults(agent_inbox, operator_api, cameras):
    inbox = agent_inbox("cam-left")
    assert operator_api.post("/api/v1/rigs/cam-left/spool/start/").status_code == 202
    assert inbox.receive()["params"] == {}


def test_an_operator_stops_spooling(agent_inbox, operator_api, cameras):
    inbox = agent_inbox("cam-right")
    assert operator_api.post("/api/v1/rigs/cam-right/spool/stop/").status_code == 202
    assert (inbox.receive()["action"], Command.objects.get().action) == ("spool.stop", "spool.stop")


@pytest.mark.parametrize("params, field", [({"compression": "gzip"}, "compression"), ({"max_frames": 0}, "max_frames"),
                                           ({"preflight": "maybe"}, "preflight")])
def test_bad_spool_settings_are_400_and_send_nothing(operator_api, cameras, params, field):
    response = operator_api.post("/api/v1/rigs/cam-left/spool/start/", params)
    assert response.status_code == 400 and list(response.json()["errors"]) == [field]
    assert not Command.objects.exists()


@pytest.mark.parametrize("path", ["spool/start/", "spool/stop/", "transfer/run/"])
def test_a_viewer_s_command_is_refused_and_recorded_as_refused(agent_inbox, viewer_api, viewer, operator_api, cameras,
                                                               path):
    inbox = agent_inbox("cam-left")
    response = viewer_api.post(f"/api/v1/rigs/cam-left/{path}")
    assert response.status_code == 403
    command = Command.objects.get()
    assert (command.state, command.issued_by) == (CommandState.REFUSED, viewer)
    assert response.json()["detail"] == "vera is a viewer: only operators may send commands to rigs."
    assert response.json()["command"]["id"] == str(command.pk)
    # The rig never got the viewer's command: the first thing it receives is the operator's that follows.
    operator_api.post("/api/v1/rigs/cam-left/spool/stop/")
    assert inbox.receive()["issued_by"] == "olga"


def test_a_command_to_an_offline_rig_is_409_and_recorded_as_refused(operator_api, cameras):
    Rig.objects.filter(name="cam-left").update(online=False)
    response = operator_api.post("/api/v1/rigs/cam-left/spool/start/")
    assert response.status_code == 409 and response.json()["detail"] == "Rig cam-left is offline."
    assert Command.objects.get().state == CommandState.REFUSED


def test_an_operator_copies_one_session_of_a_rig(agent_inbox, operator_api, cameras):
    inbox = agent_inbox("cam-left")
    response = operator_api.post("/api/v1/rigs/cam-left/transfer/run/", {"exp_ref": "2024-03-05_1_KS051"})
    assert response.status_code == 202
    assert inbox.receive()["action"] == "transfer.run"
    assert Command.objects.get().params == {"exp_ref": "2024-03-05_1_KS051"}


def test_a_copy_of_every_session_of_a_day(agent_inbox, operator_api, cameras):
    inbox = agent_inbox("cam-left")
    response = operator_api.post("/api/v1/rigs/cam-left/transfer/run/", {"subject": "KS051", "date": "2024-03-05"})
    assert response.status_code == 202
    assert inbox.receive()["params"] == {"subject": "KS051", "date": "2024-03-05"}


def test_a_copy_of_a_malformed_exp_ref_is_400(operator_api, cameras):
    response = operator_api.post("/api/v1/rigs/cam-left/transfer/run/", {"exp_ref": "yesterday"})
    assert response.status_code == 400 and "exp_ref" in response.json()["errors"]
    assert not Command.objects.exists()


# -- several rigs at once ---------------------------------------------------------------------------------------
def test_an_operator_starts_spooling_on_two_rigs_at_once(agent_inbox, operator_api, cameras):
    inboxes = {name: agent_inbox(name) for name in ("cam-left", "cam-right")}
    response = operator_api.post("/api/v1/spool/start/", {"rigs": ["cam-left", "cam-right"],
                                                          "compression": "blosc-lz4", "preflight": "abort"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert [c["rig"] for c in body["commands"]] == ["cam-left", "cam-right"]
    assert {c["state"] for c in body["commands"]} == {"sent"}
    for name, inbox in inboxes.items():
        sent = inbox.receive()
        assert (sent["action"], sent["params"]) == ("spool.start", {"compression": "blosc-lz4", "preflight": "abort"})
        assert Command.objects.get(pk=sent["id"]).rig.name == name
    assert Command.objects.filter(action="spool.start", state=CommandState.SENT).count() == 2


def test_stop_spooling_on_two_rigs_at_once(operator_api, cameras):
    response = operator_api.post("/api/v1/spool/stop/", {"rigs": ["cam-right", "cam-left"]})
    assert response.status_code == 202
    assert [c["rig"] for c in response.json()["commands"]] == ["cam-right", "cam-left"]


def test_one_offline_rig_among_several_is_refused_the_others_get_the_command(agent_inbox, operator_api, cameras):
    Rig.objects.filter(name="cam-left").update(online=False)
    inbox = agent_inbox("cam-right")
    response = operator_api.post("/api/v1/spool/start/", {"rigs": ["cam-left", "cam-right"]})
    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "spool.start refused for cam-left (Rig cam-left is offline.). Sent to cam-right."
    assert [(c["rig"], c["state"]) for c in body["commands"]] == [("cam-left", "refused"), ("cam-right", "sent")]
    assert inbox.receive()["action"] == "spool.start"


def test_a_viewer_spooling_several_rigs_is_refused_for_each_and_each_recorded(viewer_api, viewer, cameras):
    response = viewer_api.post("/api/v1/spool/start/", {"rigs": ["cam-left", "cam-right"]})
    assert response.status_code == 403
    assert set(Command.objects.values_list("rig__name", "state", "issued_by")) == {
        ("cam-left", "refused", viewer.pk), ("cam-right", "refused", viewer.pk)}


def test_an_unknown_rig_among_several_sends_nothing(operator_api, cameras):
    response = operator_api.post("/api/v1/spool/start/", {"rigs": ["cam-left", "cam-9"]})
    assert response.status_code == 400 and response.json()["errors"] == {"rigs": ["No rig named 'cam-9'."]}
    assert not Command.objects.exists()

