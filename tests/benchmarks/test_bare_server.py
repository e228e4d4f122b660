"""The server-floor benchmark measures the websocket server alone: its application takes every agent, answers the
hello, drops every status, and the server's CPU per status is read (benchmarks/load/bare_server.py, against a real
daphne)."""

from __future__ import annotations

from benchmarks.load import bare_server


def test_a_bare_daphne_takes_every_status_at_the_rate_asked_and_its_cost_is_measured(tmp_path):
    row = bare_server.bare_run("daphne", rigs=12, hz=5, seconds=3, log_dir=tmp_path)
    assert row["sent/s"] == row["asked/s"] == 60.0
    assert row["closed"] == {} and row["failed to connect"] == 0
    assert row["dashboard cores"] > 0 and row["us/status"] > 0
