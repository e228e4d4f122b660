"""The README's "Scripting" examples, run as written against a live dashboard with an operator's token: they must
keep working as the API changes."""

from __future__ import annotations

import csv
import datetime as dt
import re
import threading
from pathlib import Path

import pytest
from django.db import connections

from labweb.api.services import api_token_create
from labweb.fleet import services as fleet_services
from labweb.fleet.choices import CommandState
from labweb.fleet.models import Command
from labweb.records import services as records_services
from labweb.records.models import SessionRig
from tests.labweb.transfers.conftest import AgentEvents, file_rows

from .conftest import rig_online

README = Path(__file__).resolve().parents[3] / "README.md"


def scripting_examples() -> list[str]:
    section = README.read_text().split("\n## Scripting\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.fixture
def run(live_server, operator, monkeypatch, tmp_path, capsys):
    """Runs the README's examples in order in one namespace, as a script would; returns what each printed."""
    monkeypatch.setenv("LABWEB_URL", live_server.url)
    monkeypatch.setenv("LABWEB_TOKEN", api_token_create(user=operator, name="readme")[1])
    monkeypatch.chdir(tmp_path)
    setup, *examples = scripting_examples()
    assert len(examples) == 3
    namespace: dict = {}
    exec(setup, namespace)  # noqa: S102 - the README's own code

    def example(index: int) -> list[str]:
        capsys.readouterr()
        exec(examples[index], namespace)  # noqa: S102
        return capsys.readouterr().out.splitlines()

    yield example
    namespace["api"].close()


class Agents(threading.Thread):
    """Rig agents answering spool.start as a real agent would (its reply names the series file)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(0.05):
                waiting = Command.objects.filter(action="spool.start", state=CommandState.SENT).select_related("rig")
                for command in waiting:
                    fleet_services.command_record_reply(rig=command.rig, command_id=str(command.pk), ok=True,
                                                        result={"file": f"D:/spool/{command.rig.name}_001.h5"},
                                                        error=None)
        finally:
            connections.close_all()


def test_todays_unfinished_copies(run, subject):
    today = dt.date.today()  # the example's "today"
    behavior, camera, right = (rig_online(name, kind=kind) for name, kind in
                               [("behavior", "behavior"), ("cam-left", "video"), ("cam-right", "video_right")])
    first = records_services.session_create(subject=subject, date=today, rigs=[behavior, camera], main_rig=behavior)
    SessionRig.objects.filter(session=first, rig=behavior).update(copy_state=3)
    SessionRig.objects.filter(session=first, rig=camera).update(copy_state=1)
    fleet_services.events_store(rig=camera, events=AgentEvents().transfer(
        "t1", exp_ref=first.exp_ref, outcome="failed", error="share gone", tag="video", state_after=1))
    second = records_services.session_create(subject=subject, date=today, rigs=[right])
    records_services.session_create(subject=subject, date=today - dt.timedelta(days=1), rigs=[right])  # not today
    assert run(0) == [f"{second.exp_ref} cam-right Not registered yet never copied",
                      f"{first.exp_ref} cam-left Pending last copy: Failed share gone"]


def test_start_spooling_on_two_rigs(run, db):
    for name in ("cam-left", "cam-right"):
        rig_online(name, capabilities=["spool.start", "spool.stop"])
    agents = Agents()
    agents.start()
    try:
        printed = run(1)
    finally:
        agents.done.set()
        agents.join(timeout=10)
    assert printed == ["cam-left succeeded D:/spool/cam-left_001.h5", "cam-right succeeded D:/spool/cam-right_001.h5"]
    assert {c.params["max_frames"] for c in Command.objects.all()} == {18000}


def test_export_the_transfer_audit_of_a_subject(run, subject):
    camera = rig_online("cam-left")
    events = AgentEvents()
    fleet_services.events_store(rig=camera, events=events.transfer("t1", exp_ref="2024-05-01_1_KS051", files=3,
                                                                    tag="video"))
    fleet_services.events_store(rig=camera, events=events.transfer("t2", exp_ref="2024-05-02_1_KS051", files=600,
                                                                    tag="video"))
    fleet_services.events_store(rig=camera, events=events.transfer("t3", exp_ref="2024-05-02_1_other", files=2,
                                                                    tag="video"))
    assert run(2) == []
    with open("KS051-transfers.csv", newline="") as exported:
        rows = list(csv.reader(exported))
    assert rows[0] == ["exp_ref", "rig", "outcome", "verified", "ended_at", "path", "size", "hash_algorithm", "hash"]
    assert len(rows) == 1 + 3 + 600  # the 600 files of t2 came in two pages
    first = [row for row in rows[1:] if row[0] == "2024-05-01_1_KS051"]
    assert [[row[5], int(row[6]), row[8]] for row in first] == file_rows(3, "t1")
    assert {(row[1], row[2], row[3], row[7]) for row in rows[1:]} == {("cam-left", "finalized", "True", "sha256")}
