"""Spool events become spool runs through the real event store, once, whatever order they arrive in."""

from __future__ import annotations

import datetime as dt

import pytest

from labweb.fleet.models import RigEvent
from labweb.records import services
from labweb.spooling.models import SpoolRun

from .conftest import FILE, T0, result, started

pytestmark = pytest.mark.django_db

SECOND_FILE = FILE.replace("_001", "_002")


def utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def test_started_records_a_running_series(outbox, rig):
    outbox.send(outbox.event("spool.started", started()))
    run = SpoolRun.objects.get()
    assert (run.rig, run.file, run.outcome, run.compression) == (rig, FILE, "running", "blosc-lz4")
    assert run.started_at == utc(T0)
    assert run.ended_at is None


def test_stopped_completes_the_series_with_the_rigs_result(outbox):
    outbox.send(outbox.event("spool.started", started()))
    outbox.send(outbox.event("spool.stopped", result(), at=T0 + 60))
    run = SpoolRun.objects.get()
    assert run.outcome == "ok"
    assert (run.frames, run.dropped, run.bytes_in, run.bytes_out) == (1200, 0, 1200 * 512 * 512 * 2, 251_658_240)
    assert run.ratio == 2.5
    assert run.complete and run.reason == "requested" and run.error == ""
    assert (run.started_at, run.ended_at) == (utc(T0), utc(T0 + 60))


def test_failed_records_the_error(outbox):
    outbox.send(outbox.event("spool.started", started()))
    outbox.send(outbox.event("spool.failed", result(outcome="failed", reason="disk_full", complete=True,
                                                    error="disk full: 1.9 GB left, reserve 2 GB")))
    run = SpoolRun.objects.get()
    assert run.outcome == "failed"
    assert run.reason == "disk_full"
    assert run.error == "disk full: 1.9 GB left, reserve 2 GB"


def test_dropped_reports_update_the_count_and_a_late_smaller_one_does_not_lower_it(outbox):
    outbox.send(outbox.event("spool.started", started()))
    outbox.send(outbox.event("spool.dropped", {"file": FILE, "new": 7, "dropped": 7, "frames": 300}, seq=3))
    assert (SpoolRun.objects.get().dropped, SpoolRun.objects.get().frames) == (7, 300)
    outbox.send(outbox.event("spool.dropped", {"file": FILE, "new": 3, "dropped": 3, "frames": 250}, seq=2))
    assert SpoolRun.objects.get().dropped == 7


def test_the_final_drop_count_survives_a_result_that_reports_fewer(outbox):
    outbox.send(outbox.event("spool.dropped", {"file": FILE, "new": 9, "dropped": 9, "frames": 100}))
    outbox.send(outbox.event("spool.stopped", result(dropped=4)))
    assert SpoolRun.objects.get().dropped == 9


def test_a_refused_preflight_is_recorded_with_its_reason(outbox, rig):
    reason = "the series needs about 512 GB but only 40 GB are free (reserve 2 GB)"
    outbox.send(outbox.event("spool.refused", {"reason": reason, "preflight": {"ok": False}}))
    run = SpoolRun.objects.get()
    assert (run.rig, run.file, run.outcome, run.error) == (rig, "", "refused", reason)
    assert run.started_at == utc(T0)


def test_each_refusal_is_its_own_record(outbox):
    outbox.send(outbox.event("spool.refused", {"reason": "too big"}, at=T0),
                outbox.event("spool.refused", {"reason": "too big"}, at=T0 + 5))
    assert SpoolRun.objects.filter(outcome="refused").count() == 2


def test_resent_events_change_nothing_twice(outbox):
    batch = [outbox.event("spool.started", started()),
             outbox.event("spool.dropped", {"file": FILE, "new": 2, "dropped": 2, "frames": 50}),
             outbox.event("spool.stopped", result(dropped=2)),
             outbox.event("spool.refused", {"reason": "too big"}, at=T0 + 90)]
    outbox.send(*batch)
    before = list(SpoolRun.objects.order_by("pk").values())
    assert outbox.send(*batch) == [1, 2, 3, 4]  # acked again, so the agent forgets them
    assert list(SpoolRun.objects.order_by("pk").values()) == before
    assert len(before) == 2
    assert RigEvent.objects.count() == 4


def test_the_same_result_under_a_new_seq_still_makes_one_record(outbox):
    outbox.send(outbox.event("spool.stopped", result()))
    outbox.send(outbox.event("spool.stopped", result()))
    run = SpoolRun.objects.get()
    assert (run.frames, run.outcome) == (1200, "ok")


def test_stopped_without_started_creates_the_record(outbox):
    outbox.send(outbox.event("spool.stopped", result(), at=T0 + 61))
    run = SpoolRun.objects.get()
    assert (run.file, run.outcome, run.frames, run.compression) == (FILE, "ok", 1200, "blosc-lz4")
    assert (run.started_at, run.ended_at) == (utc(T0), utc(T0 + 60))


def test_a_started_event_arriving_after_the_end_does_not_reopen_the_series(outbox):
    outbox.send(outbox.event("spool.stopped", result(), seq=2))
    outbox.send(outbox.event("spool.started", started(), seq=1, at=T0 - 1))
    run = SpoolRun.objects.get()
    assert run.outcome == "ok"
    assert run.started_at == utc(T0)  # the result's own start stays
    assert run.last_seq == 2 and run.data["outcome"] == "ok"


def test_two_series_of_one_rig_are_two_records(outbox):
    outbox.send(outbox.event("spool.started", started()), outbox.event("spool.stopped", result()),
                outbox.event("spool.started", started(SECOND_FILE)), outbox.event("spool.stopped", result(SECOND_FILE)))
    assert sorted(SpoolRun.objects.values_list("file", flat=True)) == [FILE, SECOND_FILE]


def test_the_session_is_linked_by_exp_ref_when_the_dashboard_knows_it(outbox, rig):
    subject = services.subject_create(name="KS051")
    session = services.session_create(subject=subject, date=dt.date(2024, 3, 5))
    outbox.send(outbox.event("spool.started", started(exp_ref=session.exp_ref)),
                outbox.event("spool.started", started(SECOND_FILE, exp_ref="2024-03-05_9_nobody")))
    runs = dict(SpoolRun.objects.values_list("file", "session"))
    assert runs == {FILE: session.pk, SECOND_FILE: None}


def test_an_event_without_a_file_is_stored_but_makes_no_record(outbox):
    assert outbox.send(outbox.event("spool.stopped", {"frames": 3})) == [1]
    assert RigEvent.objects.count() == 1
    assert not SpoolRun.objects.exists()


def test_warnings_and_hook_outcomes_stay_in_the_event_stream_only(outbox):
    outbox.send(outbox.event("spool.warning", {"reason": "may not fit"}),
                outbox.event("spool.hook", {"hook": "mirror", "file": FILE, "ok": True}))
    assert RigEvent.objects.count() == 2
    assert not SpoolRun.objects.exists()


def test_an_agent_restart_closes_the_series_its_old_process_left_running(outbox):
    outbox.send(outbox.event("spool.started", started()))
    outbox.send(outbox.event("agent.started", {"pid": 42}, at=T0 + 60))
    run = SpoolRun.objects.get()
    assert (run.outcome, run.reason, run.ended_at) == ("failed", "agent_restart", utc(T0 + 60))
    assert "last flush" in run.error


def test_a_series_started_after_the_agent_restart_stays_running(outbox):
    outbox.send(outbox.event("agent.started", {"pid": 42}, at=T0 - 5))
    outbox.send(outbox.event("spool.started", started()))
    assert SpoolRun.objects.get().outcome == "running"
