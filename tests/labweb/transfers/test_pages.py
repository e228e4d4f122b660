"""The audit pages: filters, per-session copy states, a transfer's files, CSV exports, and re-verify for operators."""

from __future__ import annotations

import csv
import io
import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse

from labweb.fleet.commands import agent_group
from labweb.fleet.models import Command, Rig
from labweb.fleet.services import events_store, rig_create
from labweb.records.models import SessionRig
from labweb.transfers.models import Transfer

from .conftest import AgentEvents

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab(rig, session, agent_events):
    """Three rigs' transfers of three sessions: finalized, complete, failed."""
    camera = rig_create(name="cam-1", kind="video")[0]
    SessionRig.objects.create(session=session, rig=rig)
    SessionRig.objects.create(session=session, rig=rig_create(name="ephys-1", kind="ephys")[0], copy_state=1)
    events_store(rig=rig, events=agent_events.transfer("a", exp_ref="2024-05-01_1_ZM_001", files=4, state_after=2, outcome="complete"))
    camera_events = AgentEvents()  # one rig, one sequence of event numbers
    events_store(rig=camera, events=camera_events.transfer("b", exp_ref="2024-05-20_1_KS051", files=2, tag="video"))
    events_store(rig=camera, events=camera_events.transfer("c", exp_ref="2024-06-03_2_KS051", outcome="failed",
                                                          state_after=None, error="server unreachable", tag="video"))
    return {"behavior": rig, "camera": camera, "session": session}


def listed(response) -> set[str]:
    """exp_refs of the transfer rows on the page."""
    html = response.content.decode()
    table = html.split('<table class="list transfers">', 1)[1] if '<table class="list transfers">' in html else ""
    return {ref for ref in ("2024-05-01_1_ZM_001", "2024-05-20_1_KS051", "2024-06-03_2_KS051") if ref in table}


def test_the_audit_pages_need_a_login(client, lab):
    transfer = Transfer.objects.get(transfer_id="a")
    for url in (reverse("transfer-list"), reverse("transfer-detail", args=[transfer.pk]),
                reverse("transfer-list-csv"), reverse("transfer-files-csv", args=[transfer.pk])):
        assert client.get(url)["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"2024-05-01_1_ZM_001", "2024-05-20_1_KS051", "2024-06-03_2_KS051"}),
        ({"rig": "cam-1"}, {"2024-05-20_1_KS051", "2024-06-03_2_KS051"}),
        ({"subject": "ZM_001"}, {"2024-05-01_1_ZM_001"}),
        ({"date_from": "2024-05-10", "date_to": "2024-05-31"}, {"2024-05-20_1_KS051"}),
        ({"outcome": "failed"}, {"2024-06-03_2_KS051"}),
        ({"rig": "cam-1", "outcome": "finalized"}, {"2024-05-20_1_KS051"}),
    ],
)
def test_filters_narrow_the_list(viewer_client, lab, query, expected):
    response = viewer_client.get(reverse("transfer-list"), query)
    assert response.status_code == 200
    assert listed(response) == expected


def test_every_devices_copy_state_is_shown_per_session(viewer_client, lab):
    html = viewer_client.get(reverse("transfer-list")).content.decode()
    row = html.split('data-exp-ref="2024-05-01_1_ZM_001"', 1)[1].split("</tr>", 1)[0]
    assert 'data-rig="behavior-1"' in row and "behavior-1 · 2 Complete" in row
    assert 'data-rig="ephys-1"' in row and "ephys-1 · 1 Pending" in row  # took part, no transfer recorded here
    unknown_session = html.split('data-exp-ref="2024-05-20_1_KS051"', 1)[1].split("</tr>", 1)[0]
    assert "cam-1 · 3 Finalized" in unknown_session


def test_the_csv_export_follows_the_filters(viewer_client, lab):
    response = viewer_client.get(reverse("transfer-list-csv"), {"rig": "cam-1"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["exp_ref"], r["outcome"], r["rig"]) for r in rows] == [
        ("2024-05-20_1_KS051", "finalized", "cam-1"), ("2024-06-03_2_KS051", "failed", "cam-1")]
    assert rows[1]["error"] == "server unreachable" and rows[0]["files"] == "2" and rows[0]["hash_algorithm"] == "sha256"


def test_a_transfers_page_lists_its_files_with_sizes_and_hashes(viewer_client, lab):
    transfer = Transfer.objects.get(transfer_id="a")
    html = viewer_client.get(reverse("transfer-detail", args=[transfer.pk])).content.decode()
    for path, size, digest in transfer.file_rows.values_list("path", "size", "hash"):
        assert path in html and digest in html and f'title="{size} bytes"' in html
    assert "Re-verify" not in html  # viewers cannot send commands


def test_a_transfers_files_export_as_csv(viewer_client, lab):
    transfer = Transfer.objects.get(transfer_id="a")
    response = viewer_client.get(reverse("transfer-files-csv", args=[transfer.pk]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["path"], int(r["size"]), r["hash"], r["hash_algorithm"]) for r in rows] == [
        (p, s, h, "sha256") for p, s, h in transfer.file_rows.order_by("path").values_list("path", "size", "hash")]
    assert "2024-05-01_1_ZM_001-behavior-1-files.csv" in response["Content-Disposition"]


def listen(rig_name: str) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(agent_group(rig_name), channel)
    return channel


def test_an_operator_asks_the_rig_to_reverify(operator_client, lab):
    Rig.objects.filter(name="behavior-1").update(online=True)
    transfer = Transfer.objects.get(transfer_id="a")
    channel = listen("behavior-1")
    html = operator_client.get(reverse("transfer-detail", args=[transfer.pk])).content.decode()
    assert 'class="primary reverify"' in html
    response = operator_client.post(reverse("transfer-reverify", args=[transfer.pk]), follow=True)
    assert "Re-verify sent to behavior-1" in response.content.decode()
    command = Command.objects.get()
    assert (command.action, command.state, command.issued_by.username) == ("transfer.verify", "sent", "olga")
    assert command.params == {"exp_ref": "2024-05-01_1_ZM_001", "tag": "behavior", "id": "a"}
    sent = json.loads(async_to_sync(get_channel_layer().receive)(channel)["text"])
    assert (sent["type"], sent["id"], sent["action"], sent["params"]) == ("command", str(command.pk), "transfer.verify", command.params)


def test_a_viewer_cannot_reverify(viewer_client, lab):
    Rig.objects.filter(name="behavior-1").update(online=True)
    transfer = Transfer.objects.get(transfer_id="a")
    response = viewer_client.post(reverse("transfer-reverify", args=[transfer.pk]), follow=True)
    assert "only operators may send commands" in response.content.decode()
    command = Command.objects.get()
    assert (command.state, command.issued_by.username) == ("refused", "vera")


def test_reverify_of_an_offline_rig_is_refused_with_the_reason(operator_client, lab):
    transfer = Transfer.objects.get(transfer_id="a")
    response = operator_client.post(reverse("transfer-reverify", args=[transfer.pk]), follow=True)
    assert "Rig behavior-1 is offline" in response.content.decode()
    assert Command.objects.get().state == "refused"


def test_reverify_is_a_post(operator_client, lab):
    transfer = Transfer.objects.get(transfer_id="a")
    assert operator_client.get(reverse("transfer-reverify", args=[transfer.pk])).status_code == 405


def test_the_recorded_verification_outcome_is_shown(viewer_client, lab, agent_events):
    bad = {"path": "raw_task_data_00/trial_00002.json", "status": "missing", "message": "not on the server"}
    events_store(rig=lab["behavior"], events=[agent_events.verified("a", ok=False, bad=[bad], files=4)])
    transfer = Transfer.objects.get(transfer_id="a")
    html = viewer_client.get(reverse("transfer-detail", args=[transfer.pk])).content.decode()
    outcome = html.split('class="recheck-outcome"', 1)[1].split("</p>", 1)[0]
    assert "bad" in outcome and "4 files re-hashed" in outcome and "1 differ" in outcome
    assert "raw_task_data_00/trial_00002.json</code></td><td>missing" in html
