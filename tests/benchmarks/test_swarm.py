"""The load harness accounts for every status: what its agents send at the rate asked, every browser sees, with
the dashboard's and its own CPU reported (benchmarks/load/swarm.py, run as a person runs it, against a real daphne)."""

from __future__ import annotations

import json

from benchmarks.load import swarm


def test_a_short_run_sends_the_rate_asked_and_every_browser_sees_every_status(tmp_path):
    out = tmp_path / "rows.json"
    swarm.main(["--rigs", "12", "--browsers", "3", "--hz", "5", "--seconds", "3", "--no-floor", "--no-warmup",
                "--json", str(out)])
    rows = json.loads(out.read_text())
    [row] = [r for r in rows if "rigs" in r]
    assert rows[0]["reference ms"] > 0  # the machine's speed, to compare runs made apart
    assert row["sent/s"] == row["asked/s"] == 60.0
    assert row["delivered %"] == row["worst browser %"] == 100.0  # each browser keeps its own account
    assert row["gaps"] == 0 and row["closed"] == {} and row["failed to connect"] == 0
    assert row["dashboard cores"] > 0 and row["us/status"] > 0
    assert row["agents cores"] > 0 and row["browsers cores"] > 0
