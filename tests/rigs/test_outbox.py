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


def test_nothing_unsendable_gets_in(tmp_path):
    """Issue 14: one `[32, NaN]` datagram was stored as is and then could never be sent, blocking the outbox."""
    from rigs.messages import decode, encode

    outbox = EventOutbox(tmp_path / "events.sqlite3")
    nasty = {"payload": [32, float("nan")], "inf": float("inf"), "big": 2**63 - 1, "nul": "a\x00b",
             "surrogate": "\ud800", "deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
             "long": "x" * (2 << 20), 5: "int key"}
    outbox.append("echo.message\x00" + "y" * 100, nasty, when=float("nan"))
    outbox.append("many", {f"k{i}": "z" * 60_000 for i in range(10)})
    outbox.append("next", {"ok": 1})
    for event in outbox.pending():
        text = encode({"type": "event", "rig": "r", **event})
        assert decode(text)["seq"] == event["seq"]
    first, many = outbox.pending()[:2]
    assert len(first["data"]["long"]) <= 64 * 1024 + 1 and first["data"]["long"].endswith("…")
    assert len(first["name"]) <= 64 and "\x00" not in first["name"]
    assert many["data"]["truncated"] is True and many["data"]["bytes"] > 600_000  # oversized as a whole: says so


def test_normalised_data_keeps_what_it_can(tmp_path):
    outbox = EventOutbox(tmp_path / "events.sqlite3")
    event = outbox.append("e", {"payload": [32, float("nan")], "n": 2**70})
    assert event["data"] == {"payload": [32, "NaN"], "n": str(2**70)}
    assert outbox.pending()[0]["data"] == event["data"]


def test_a_refused_event_is_quarantined_with_its_reason_and_never_sent_again(tmp_path):
    outbox = EventOutbox(tmp_path / "events.sqlite3")
    bad, good = outbox.append("bad", {"n": 1}), outbox.append("good", {"n": 2})
    moved = outbox.quarantine(bad["seq"], "the dashboard refused it: name too long")
    assert moved["name"] == "bad" and "name too long" in moved["reason"]
    assert [e["seq"] for e in outbox.pending()] == [good["seq"]]
    outbox.close()
    reopened = EventOutbox(tmp_path / "events.sqlite3")  # kept on the rig's disk
    assert reopened.quarantined_count() == 1
    assert reopened.quarantined()[0]["reason"] == "the dashboard refused it: name too long"
    assert reopened.quarantine(bad["seq"], "again") is None  # no longer pending
