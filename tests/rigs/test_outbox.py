"""The outbox keeps events until they are acked, across restarts, and never reuses a seq."""

from rigs.outbox import EventOutbox


def test_events_survive_a_reopen_until_acked(tmp_path):
    outbox = EventOutbox(tmp_path / "events.sqlite3")
    first = outbox.append("a", {"n": 1})
    second = outbox.append("b", {"n": 2})
    outbox.close()

    reopened = EventOutbox(tmp_path / "events.sqlite3")
    assert [e["seq"] for e in reopened.pending()] == [first["seq"], second["seq"]]
    reopened.ack([first["seq"]])
    assert [e["name"] for e in reopened.pending()] == ["b"]


def test_seqs_never_go_back_after_acks(tmp_path):
    outbox = EventOutbox(tmp_path / "events.sqlite3")
    seqs = [outbox.append("e")["seq"] for _ in range(3)]
    outbox.ack(seqs)
    assert outbox.append("e")["seq"] == seqs[-1] + 1


def test_a_wiped_outbox_continues_after_the_dashboards_last_seq(tmp_path):
    outbox = EventOutbox(tmp_path / "events.sqlite3")
    pending = outbox.append("new", {"k": 1})
    assert pending["seq"] == 1
    outbox.renumber_after(41)  # the dashboard already holds seqs 1..41 from this rig's earlier life
    assert [(e["seq"], e["name"], e["data"]) for e in outbox.pending()] == [(42, "new", {"k": 1})]
    assert outbox.append("next")["seq"] == 43


def test_renumber_is_a_no_op_when_the_outbox_is_ahead(tmp_path):
    outbox = EventOutbox(tmp_path / "events.sqlite3")
    for _ in range(5):
        outbox.append("e")
    outbox.renumber_after(3)
    assert [e["seq"] for e in outbox.pending()] == [1, 2, 3, 4, 5]
