"""An event the database cannot store never fails its batch (issue 14): it is quarantined with the reason, or
left for the agent to keep, while the events around it are stored, applied and acked."""

from __future__ import annotations

from django.db import connection

from labweb.fleet import services
from labweb.fleet.models import RigEvent
from labweb.records.models import Session

T0 = 1_709_640_000.0


def _event(seq: int, name: str = "test.tick", **data) -> dict:
    return {"seq": seq, "name": name, "time": T0, "data": data}


def test_a_nul_does_not_fail_its_batch(rig):
    """PostgreSQL refuses "\\u0000" in text and JSON; SQLite stores it. Either way the batch goes through."""
    batch = [_event(1, n=1), _event(2, text="a\x00b"), _event(3, name="session.initialized", exp_ref="2024-03-05_1_m")]
    acked = services.events_store(rig=rig, events=batch).seqs
    assert acked == [1, 2, 3]
    stored = {e.seq: e for e in RigEvent.objects.filter(rig=rig)}
    assert stored[1].data == {"n": 1}
    assert Session.objects.filter(exp_ref="2024-03-05_1_m").exists()  # the event behind it was applied
    if connection.vendor == "postgresql":
        assert stored[2].name == services.QUARANTINED_EVENT
        assert stored[2].data["name"] == "test.tick" and stored[2].data["data"] == {"text": "a\ufffdb"}
        assert "DataError" in stored[2].data["reason"]  # the database's own words, for the operator
    else:
        assert stored[2].data == {"text": "a\x00b"}


def test_fields_that_cannot_be_read_are_quarantined_with_the_reason(rig):
    batch = [_event(1), {"seq": 2, "name": "spool.started", "time": 1e300, "data": {"file": "x.h5"}},
             {"seq": 3, "name": "x", "time": "soon", "data": {}}, _event(4)]
    assert services.events_store(rig=rig, events=batch).seqs == [1, 2, 3, 4]
    stored = {e.seq: e for e in RigEvent.objects.filter(rig=rig)}
    assert stored[2].name == stored[3].name == services.QUARANTINED_EVENT
    assert "spool.started" == stored[2].data["name"] and stored[2].data["reason"]
    assert stored[4].name == "test.tick"
    # Quarantined records are stored once, like any event: a resend changes nothing.
    assert services.events_store(rig=rig, events=batch).seqs == [1, 2, 3, 4]
    assert RigEvent.objects.filter(rig=rig).count() == 4


def test_an_event_whose_seq_cannot_be_stored_is_rejected_and_the_rest_acked(rig):
    rejected: dict[int, str] = {}
    acked = services.events_store(rig=rig, events=[_event(1), _event(2**64), _event(3)], rejected=rejected).seqs
    assert acked == [1, 3]
    assert list(rejected) == [2**64] and rejected[2**64]
    assert sorted(RigEvent.objects.filter(rig=rig).values_list("seq", flat=True)) == [1, 3]
