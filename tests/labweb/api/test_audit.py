"""The audit through the API: transfers with their files and hashes (and re-verifying one), spool runs, the
commands sent to rigs and the rigs' events, each filtered as its page is. Records are made by the rigs' events
through the real event store."""

from __future__ import annotations

import datetime as dt

import pytest

from labweb.fleet import services as fleet_services
from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command, Rig
from labweb.transfers.models import Transfer
from tests.labweb.spooling.conftest import FILE, T0, Outbox, result, started
from tests.labweb.transfers.conftest import AgentEvents, file_rows

from .conftest import rig_online

pytestmark = pytest.mark.django_db


@pytest.fixture
def copies(db):
    """Three transfers of two rigs: a finalized ZM_001 copy (3 files), a failed one, and one of another subject."""
    behavior = rig_online("behavior-1", kind="behavior")
    camera = rig_online("cam-left")
    events = AgentEvents()
    fleet_services.events_store(rig=behavior, events=events.transfer("t1", files=3))
    fleet_services.events_store(rig=behavior, events=events.transfer("t2", exp_ref="2024-05-02_1_ZM_001",
                                                                      outcome="failed", error="share gone"))
    fleet_services.events_store(rig=camera, events=AgentEvents().transfer("c1", exp_ref="2024-05-03_1_KS051",
                                                                           files=2, tag="video"))
    return {t.transfer_id: t for t in Transfer.objects.all()}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(t["transfer_id"] for t in response.json()["results"])


@pytest.mark.parametrize("params, expected", [
    ({}, ["c1", "t1", "t2"]),
    ({"subject": "ZM_001"}, ["t1", "t2"]),
    ({"rig": "cam-left"}, ["c1"]),
    ({"outcome": "failed"}, ["t2"]),
    ({"date_from": "2024-05-02"}, ["c1", "t2"]),
    ({"date_to": "2024-05-02"}, ["t1", "t2"]),
    ({"exp_ref": "2024-05-01_1_ZM_001"}, ["t1"]),
])
def test_transfers_filter_as_the_audit_page_does(viewer_api, copies, params, expected):
    assert ids(viewer_api.get("/api/v1/transfers/", **params)) == expected


def test_a_transfer_and_its_files_with_their_hashes(viewer_api, copies):
    record = copies["t1"]
    shown = viewer_api.get(f"/api/v1/transfers/{record.pk}/").json()
    assert (shown["rig"], shown["exp_ref"], shown["outcome"], shown["files"], shown["hash_algorithm"]) == (
        "behavior-1", "2024-05-01_1_ZM_001", "finalized", 3, "sha256")
    assert shown["verified"] is True and shown["state_after"] == 3
    files = viewer_api.get(f"/api/v1/transfers/{record.pk}/files/").json()
    assert files["count"] == 3
    assert [[f["path"], f["size"], f["hash"]] for f in files["results"]] == file_rows(3, "t1")
    assert {f["recheck_status"] for f in files["results"]} == {""}


def test_a_large_transfer_s_files_come_in_pages(viewer_api, db):
    rig = rig_online("behavior-1", kind="behavior")
    fleet_services.events_store(rig=rig, events=AgentEvents().transfer("big", files=1200, chunk=500))
    record = Transfer.objects.get()
    first = viewer_api.get(f"/api/v1/transfers/{record.pk}/files/").json()
    assert (first["count"], len(first["results"])) == (1200, 500)
    last = viewer_api.get(f"/api/v1/transfers/{record.pk}/files/", page=3).json()
    assert len(last["results"]) == 200 and last["next"] is None


def test_an_unknown_transfer_is_404(viewer_api, db):
    assert viewer_api.get("/api/v1/transfers/999/").status_code == 404
    assert viewer_api.get("/api/v1/transfers/999/files/").status_code == 404


def test_an_operator_reverifies_a_copy_as_the_transfer_page_does(agent_inbox, operator_api, operator, operator_client,
                                                                 copies):
    inbox = agent_inbox("behavior-1")
    response = operator_api.post(f"/api/v1/transfers/{copies['t1'].pk}/verify/")
    assert response.status_code == 202
    sent = inbox.receive()
    assert (sent["action"], sent["params"]) == ("transfer.verify", {"exp_ref": "2024-05-01_1_ZM_001",
                                                                    "tag": "behavior", "id": "t1"})
    assert Command.objects.get().issued_by == operator
    # The transfer page lists this command among its re-verifications.
    assert " by olga (Sent to the rig)" in operator_client.get(f"/transfers/{copies['t1'].pk}/").content.decode()


def test_a_viewer_s_reverify_is_refused_and_recorded(viewer_api, viewer, copies):
    response = viewer_api.post(f"/api/v1/transfers/{copies['t1'].pk}/verify/")
    assert response.status_code == 403
    command = Command.objects.get()
    assert (command.action, command.state, command.issued_by) == ("transfer.verify", CommandState.REFUSED, viewer)


def test_reverifying_on_an_offline_rig_is_409(operator_api, copies):
    Rig.objects.filter(name="behavior-1").update(online=False)
    assert operator_api.post(f"/api/v1/transfers/{copies['t1'].pk}/verify/").status_code == 409


# -- spool runs -------------------------------------------------------------------------------------------------
@pytest.fixture
def series(db):
    outbox = Outbox(fleet_services.rig_create(name="cam-left", kind="video")[0])
    second = FILE.replace("_001", "_002")
    outbox.send(outbox.event("spool.started", started()), outbox.event("spool.stopped", result(), at=T0 + 60))
    outbox.send(outbox.event("spool.started", started(second), at=T0 + 3600))
    other = Outbox(fleet_services.rig_create(name="cam-right", kind="video")[0])
    other.send(other.event("spool.started", started()), other.event("spool.failed", result(outcome="failed",
                                                                                             error="disk full")))


def files(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200, response.content
    return [(r["rig"], r["file_name"], r["outcome"]) for r in response.json()["results"]]


def test_spool_runs_newest_first_with_their_figures(viewer_api, series):
    runs = viewer_api.get("/api/v1/spool-runs/").json()["results"]
    assert [(r["rig"], r["file_name"], r["outcome"]) for r in runs] == [
        ("cam-left", "2024-03-05_series_002.h5", "running"), ("cam-right", "2024-03-05_series_001.h5", "failed"),
        ("cam-left", "2024-03-05_series_001.h5", "ok")]
    done = runs[2]
    assert (done["frames"], done["ratio"], done["seconds"], done["complete"]) == (1200, 2.5, 60.0, True)
    assert viewer_api.get(f"/api/v1/spool-runs/{runs[2]['id']}/").json() == done


@pytest.mark.parametrize("params, expected", [
    ({"rig": "cam-right"}, [("cam-right", "2024-03-05_series_001.h5", "failed")]),
    ({"outcome": "ok"}, [("cam-left", "2024-03-05_series_001.h5", "ok")]),
    ({"started_after": "2024-03-05T12:30:00Z"}, [("cam-left", "2024-03-05_series_002.h5", "running")]),
    ({"started_before": "2024-03-05T12:30:00Z", "rig": "cam-left"}, [("cam-left", "2024-03-05_series_001.h5", "ok")]),
])
def test_spool_runs_filter_by_rig_outcome_and_time(viewer_api, series, params, expected):
    assert files(viewer_api.get("/api/v1/spool-runs/", **params)) == expected


# -- commands and events -------------------------------------------------------------------------------------------
def test_commands_list_who_sent_what_and_how_it_ended(operator_api, viewer_api, cameras):
    operator_api.post("/api/v1/rigs/cam-left/spool/start/")
    viewer_api.post("/api/v1/rigs/cam-right/spool/stop/")
    listed = viewer_api.get("/api/v1/commands/").json()["results"]
    assert [(c["rig"], c["action"], c["state"], c["issued_by"]) for c in listed] == [
        ("cam-right", "spool.stop", "refused", "vera"), ("cam-left", "spool.start", "sent", "olga")]
    assert [c["rig"] for c in viewer_api.get("/api/v1/commands/", state="refused").json()["results"]] == ["cam-right"]
    assert [c["rig"] for c in viewer_api.get("/api/v1/commands/", issued_by="olga").json()["results"]] == ["cam-left"]
    started = viewer_api.get("/api/v1/commands/", action="spool.start").json()["results"]
    assert [c["rig"] for c in started] == ["cam-left"]
    assert [c["rig"] for c in viewer_api.get("/api/v1/commands/", rig="cam-right").json()["results"]] == ["cam-right"]
    assert viewer_api.get("/api/v1/commands/", issued_after="2999-01-01T00:00:00Z").json()["count"] == 0


def test_a_script_follows_its_command_to_the_rig_s_answer(operator_api, cameras):
    command_id = operator_api.post("/api/v1/rigs/cam-left/spool/start/").json()["id"]
    assert operator_api.get(f"/api/v1/commands/{command_id}/").json()["state"] == "sent"
    fleet_services.command_record_reply(rig=Rig.objects.get(name="cam-left"), command_id=command_id, ok=True,
                                        result={"file": FILE}, error=None)
    answered = operator_api.get(f"/api/v1/commands/{command_id}/").json()
    assert (answered["state"], answered["result"]) == ("succeeded", {"file": FILE})
    assert operator_api.get("/api/v1/commands/not-a-uuid/").status_code == 404


@pytest.fixture
def events(db):
    outbox = Outbox(fleet_services.rig_create(name="cam-left", kind="video")[0])
    outbox.send(outbox.event("agent.started", {}, at=T0 - 10), outbox.event("spool.started", started()),
                outbox.event("spool.stopped", result(), at=T0 + 60))
    other = Outbox(fleet_services.rig_create(name="behavior-1", kind="behavior")[0])
    other.send(other.event("transfer.started", {"id": "x"}, at=T0 + 120))


def event_names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [f"{e['rig']}:{e['name']}" for e in response.json()["results"]]


@pytest.mark.parametrize("params, expected", [
    ({}, ["behavior-1:transfer.started", "cam-left:spool.stopped", "cam-left:spool.started", "cam-left:agent.started"]),
    ({"rig": "cam-left", "name": "spool.started"}, ["cam-left:spool.started"]),
    ({"name_prefix": "spool."}, ["cam-left:spool.stopped", "cam-left:spool.started"]),
    ({"time_after": "2024-03-05T12:00:00Z", "time_before": "2024-03-05T12:02:00Z"},
     ["cam-left:spool.stopped", "cam-left:spool.started"]),
    ({"time_before": "2024-03-05T12:00:00Z"}, ["cam-left:agent.started"]),
])
def test_events_filter_by_rig_type_and_time(viewer_api, events, params, expected):
    assert event_names(viewer_api.get("/api/v1/events/", **params)) == expected


def test_an_event_carries_its_seq_time_and_data(viewer_api, events):
    event = viewer_api.get("/api/v1/events/", name="spool.started").json()["results"][0]
    assert (event["seq"], event["time"], event["data"]["file"]) == (
        2, dt.datetime.fromtimestamp(T0, dt.UTC).isoformat().replace("+00:00", "Z"), FILE)
