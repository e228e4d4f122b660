"""Transfer records from rig events through events_store: complete, idempotent, and indifferent to arrival order."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from labweb.fleet.services import events_store, rig_create
from labweb.records.models import SessionRig
from labweb.records.services import session_create, subject_create
from labweb.transfers.models import Transfer, TransferFile

from .conftest import file_rows

pytestmark = pytest.mark.django_db


def record_of(rig, transfer_id: str = "t1") -> dict:
    transfer = Transfer.objects.get(rig=rig, transfer_id=transfer_id)
    fields = {f.name: getattr(transfer, f.name) for f in Transfer._meta.fields if f.name not in {"id", "created_at"}}
    files = set(TransferFile.objects.filter(transfer=transfer).values_list("path", "size", "hash"))
    return {**fields, "file_rows": files}


def test_a_transfer_becomes_a_record_with_every_file(rig, session, agent_events):
    events = agent_events.transfer(files=1_200)
    events_store(rig=rig, events=events)
    transfer = Transfer.objects.get()
    assert (transfer.exp_ref, transfer.session, transfer.subject, str(transfer.session_date)) == (
        "2024-05-01_1_ZM_001", session, "ZM_001", "2024-05-01")
    assert (transfer.outcome, transfer.files, transfer.chunks, transfer.verified, transfer.trigger) == (
        "finalized", 1_200, 3, True, "operator")
    assert (transfer.state_before, transfer.state_after, transfer.hash_algorithm, transfer.tag) == (0, 3, "sha256", "behavior")
    assert transfer.manifest.endswith("2024-05-01_1_ZM_001@behavior.manifest.json")
    assert transfer.seconds == 9.0 and transfer.started_at.isoformat() == "2024-05-01T12:00:00+00:00"
    rows = set(TransferFile.objects.values_list("path", "size", "hash"))
    assert rows == {tuple(r) for r in file_rows(1_200, "t1")}


def test_the_session_learns_the_devices_copy_state(rig, session, agent_events):
    events_store(rig=rig, events=agent_events.transfer(outcome="complete", state_after=2))
    assert SessionRig.objects.get(session=session, rig=rig).copy_state == 2


def test_a_transfer_that_finalizes_makes_every_complete_device_final(rig, session, agent_events):
    camera = rig_create(name="cam-1", kind="video")[0]
    SessionRig.objects.create(session=session, rig=camera, copy_state=2)
    events_store(rig=rig, events=agent_events.transfer(outcome="finalized", state_after=3))
    assert dict(SessionRig.objects.values_list("rig__name", "copy_state")) == {"behavior-1": 3, "cam-1": 3}


def test_resent_events_change_nothing(rig, session, agent_events):
    events = agent_events.transfer(files=700)
    events_store(rig=rig, events=events)
    first = record_of(rig)
    events_store(rig=rig, events=events)  # the agent lost the ack
    events_store(rig=rig, events=[agent_events.event(e["name"], e["data"]) for e in events[1:3]])  # chunks re-emitted
    assert record_of(rig) == first
    assert TransferFile.objects.count() == 700 and Transfer.objects.count() == 1


def test_the_record_is_the_same_whatever_order_the_events_arrive_in(rig, session, agent_events):
    in_order = agent_events.transfer("t1", files=1_400)
    events_store(rig=rig, events=in_order)
    shuffled = agent_events.transfer("t2", files=1_400)
    random.Random(5).shuffle(shuffled)
    for event in shuffled:  # one at a time, as after a reconnect: the outcome before the start, chunks mixed
        events_store(rig=rig, events=[event])
    first, second = record_of(rig, "t1"), record_of(rig, "t2")
    second_files = {(p, s, h) for p, s, h in second.pop("file_rows")}
    first.pop("file_rows")
    assert {k: v for k, v in first.items() if k != "transfer_id"} == {k: v for k, v in second.items() if k != "transfer_id"}
    assert second_files == {tuple(r) for r in file_rows(1_400, "t2")}


def test_a_failed_transfer_keeps_its_error_and_leaves_a_known_copy_state_alone(rig, session, agent_events):
    SessionRig.objects.create(session=session, rig=rig, copy_state=1)
    events_store(rig=rig, events=agent_events.transfer(outcome="failed", state_after=None,
                                                       error="/mnt/lab/Subjects is not reachable"))
    transfer = Transfer.objects.get()
    assert (transfer.outcome, transfer.error, transfer.chunks) == ("failed", "/mnt/lab/Subjects is not reachable", 0)
    assert not transfer.file_rows.exists()
    assert SessionRig.objects.get().copy_state == 1


def test_a_session_the_dashboard_does_not_know_is_still_audited(rig, agent_events):
    events_store(rig=rig, events=agent_events.transfer(exp_ref="2024-06-02_3_KS051"))
    transfer = Transfer.objects.get()
    assert (transfer.session, transfer.subject, str(transfer.session_date)) == (None, "KS051", "2024-06-02")
    assert not SessionRig.objects.exists()


def test_a_session_created_later_is_linked_by_the_next_transfer(rig, agent_events):
    events_store(rig=rig, events=agent_events.transfer("t1"))
    session = session_create(subject=subject_create(name="ZM_001"), date=dt.date(2024, 5, 1))
    events_store(rig=rig, events=agent_events.transfer("t2"))
    assert Transfer.objects.get(transfer_id="t2").session == session
    assert SessionRig.objects.get(session=session).copy_state == 3


def test_a_verification_marks_the_bad_files_and_the_rest_ok(rig, session, agent_events):
    events_store(rig=rig, events=agent_events.transfer(files=3))
    bad = {"path": "raw_task_data_00/trial_00001.json", "status": "hash", "message": "content differs"}
    events_store(rig=rig, events=[agent_events.verified("t1", ok=False, bad=[bad])])
    transfer = Transfer.objects.get()
    assert transfer.recheck_ok is False and transfer.recheck["bad"] == [bad] and transfer.rechecked_at
    assert dict(transfer.file_rows.values_list("path", "recheck_status")) == {
        "raw_task_data_00/trial_00000.json": "ok", "raw_task_data_00/trial_00001.json": "hash",
        "raw_task_data_00/trial_00002.json": "ok"}


def test_a_verification_without_an_id_goes_to_the_latest_good_transfer_of_that_session(rig, session, agent_events):
    events_store(rig=rig, events=agent_events.transfer("old"))
    events_store(rig=rig, events=agent_events.transfer("new"))
    events_store(rig=rig, events=agent_events.transfer("broken", outcome="failed", state_after=None))
    events_store(rig=rig, events=[agent_events.verified(None, ok=True)])
    assert dict(Transfer.objects.values_list("transfer_id", "recheck_ok")) == {"old": None, "new": True, "broken": None}


def test_an_older_verification_arriving_late_does_not_replace_a_newer_one(rig, session, agent_events):
    events_store(rig=rig, events=agent_events.transfer())
    older = agent_events.verified("t1", ok=False, bad=[{"path": "x", "status": "missing"}])
    newer = agent_events.verified("t1", ok=True)
    newer["time"] = older["time"] + 60
    events_store(rig=rig, events=[newer])
    events_store(rig=rig, events=[older])
    assert Transfer.objects.get().recheck_ok is True


def test_a_devices_copy_state_only_moves_forward_when_reports_cross(rig):
    """The rig that finalized may be heard before the one whose copy completed just before it."""
    other = rig_create(name="cam-left", kind="video")[0]
    subject = subject_create(name="ZM_9")
    session = session_create(subject=subject, rigs=[rig, other])

    def done(who, seq, state_before, state_after, outcome):
        events_store(rig=who, events=[{"seq": seq, "time": 1_700_000_000 + seq, "name": "transfer.done", "data": {
            "id": f"t-{who.name}", "exp_ref": session.exp_ref, "outcome": outcome, "state_before": state_before,
            "state_after": state_after}}])

    done(rig, 1, 1, 3, "finalized")  # the second copy, heard first
    done(other, 2, 1, 2, "complete")  # the first copy, heard last
    assert set(SessionRig.objects.filter(session=session).values_list("copy_state", flat=True)) == {3}
    session.refresh_from_db()
    assert session.finalized_at is not None
