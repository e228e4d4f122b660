"""Rig-supplied text in CSV exports and download names (issue 14): no formulas, no header injection, no 500s;
and re-verify is for operators only, the refusal recorded."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command
from labweb.fleet.services import events_store
from labweb.transfers.models import Transfer
from labweb.transfers.views import download_name

from .conftest import AgentEvents

pytestmark = pytest.mark.django_db

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.fixture
def hostile(rig):
    events = AgentEvents()
    batch = events.transfer("x\r\nSet-Cookie: a=b", exp_ref="2024-05-01_1_ZM_001", files=0, outcome="failed",
                            state_after=None, error="=cmd|' /C calc'!A0")
    events_store(rig=rig, events=batch)
    record = Transfer.objects.get()
    for i, text in enumerate(FORMULAS):
        record.file_rows.create(path=text, size=i, hash=text[:128])
    return record


def test_no_cell_of_a_csv_export_starts_a_formula(viewer_client, hostile):
    for url in (reverse("transfer-list-csv"), reverse("transfer-files-csv", args=[hostile.pk])):
        response = viewer_client.get(url)
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        cells = [cell for row in rows[1:] for cell in row]
        assert cells, url
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], url
    text = viewer_client.get(reverse("transfer-list-csv")).content.decode()
    assert "'=cmd|" in text  # kept, as text


def test_a_line_break_in_a_download_name_is_no_500(viewer_client, hostile):
    response = viewer_client.get(reverse("transfer-files-csv", args=[hostile.pk]))
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "Set-Cookie" not in response.cookies
    assert disposition.startswith('attachment; filename="') and disposition.count('"') == 2


@pytest.mark.parametrize(("name", "expected"), [("a\r\nb.csv", "a_b.csv"), ('q"uote.csv', "q_uote.csv"),
                                                ("../../x.csv", "x.csv"), ("", "download"), ("é.csv", "csv")])
def test_download_names_are_plain(name, expected):
    assert download_name(name) == expected


def test_a_viewer_gets_a_403_for_reverify_and_the_refusal_is_recorded(viewer_client, viewer, rig, agent_events):
    events_store(rig=rig, events=agent_events.transfer("v1"))
    record = Transfer.objects.get(transfer_id="v1")
    response = viewer_client.post(reverse("transfer-reverify", args=[record.pk]))
    assert response.status_code == 403 and b"viewer" in response.content
    command = Command.objects.get()
    assert (command.state, command.issued_by, command.action) == (CommandState.REFUSED, viewer, "transfer.verify")
