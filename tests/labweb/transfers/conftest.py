"""Fixtures for the transfer audit: users in both roles, a rig, a session, and rig events shaped as the agent sends."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import time
from typing import Any

import pytest

from labweb.fleet import services as fleet_services
from labweb.records import services
from rigs.copier import TransferResult


@pytest.fixture
def rig(db):
    return fleet_services.rig_create(name="behavior-1", kind="behavior")[0]


@pytest.fixture
def session(db):
    subject = services.subject_create(name="ZM_001")
    return services.session_create(subject=subject, date=dt.date(2024, 5, 1))


class AgentEvents:
    """Builds one rig's transfer events with the agent's payloads (the result dict is the copier's own)."""

    def __init__(self) -> None:
        self.seq = itertools.count(1)

    def event(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"seq": next(self.seq), "time": time.time(), "name": name, "data": data}

    def transfer(self, transfer_id: str = "t1", *, exp_ref: str = "2024-05-01_1_ZM_001", files: int = 3,
                 outcome: str = "finalized", chunk: int = 500, state_after: int | None = 3,
                 error: str | None = None, tag: str = "behavior") -> list[dict[str, Any]]:
        """started, the manifest in chunks, then done (or failed): in the order the agent emits them."""
        rows = file_rows(files, transfer_id)
        chunks = [rows[i:i + chunk] for i in range(0, len(rows), chunk)] if outcome != "failed" else []
        date, number, subject = exp_ref.split("_", 2)
        result = TransferResult(
            tag=tag, session=f"{subject}/{date}/{int(number):03d}", exp_ref=exp_ref, source=f"/data/Subjects/{subject}/{date}/{number}",
            destination=f"/mnt/lab/Subjects/{subject}/{date}/{int(number):03d}", files=len(rows),
            bytes=sum(r[1] for r in rows), files_copied=len(rows), bytes_copied=sum(r[1] for r in rows),
            manifest=None if outcome == "failed" else f"/mnt/lab/Subjects/{subject}/_devices/{exp_ref}@{tag}.manifest.json",
            verified=outcome != "failed", hash_algorithm="sha256", outcome=outcome, error=error, state_before=0, state_after=state_after,
            message="", start="2024-05-01T12:00:00+00:00", end="2024-05-01T12:00:09+00:00", seconds=9.0,
        ).to_dict()
        base = {"id": transfer_id, "exp_ref": exp_ref, "tag": tag}
        events = [self.event("transfer.started", {**base, "session": result["session"], "source": result["source"],
                                                  "destination": result["destination"], "trigger": "operator"})]
        events += [self.event("transfer.files", {**base, "chunk": i, "chunks": len(chunks), "files": c})
                   for i, c in enumerate(chunks)]
        name = "transfer.failed" if outcome == "failed" else "transfer.done"
        events.append(self.event(name, {"id": transfer_id, "trigger": "operator", "chunks": len(chunks), **result}))
        return events

    def verified(self, transfer_id: str | None, *, ok: bool, bad: list[dict] = (), files: int = 3,
                 exp_ref: str = "2024-05-01_1_ZM_001") -> dict[str, Any]:
        return self.event("transfer.verified", {
            "id": transfer_id, "exp_ref": exp_ref, "session": "ZM_001/2024-05-01/001", "tag": "behavior", "ok": ok,
            "files": files, "bad_count": len(bad), "bad": list(bad), "errors": [], "manifests": ["m.json"]})


def file_rows(count: int, salt: str = "") -> list[list]:
    return [[f"raw_task_data_00/trial_{i:05d}.json", 100 + i, hashlib.sha256(f"{salt}{i}".encode()).hexdigest()]
            for i in range(count)]


@pytest.fixture
def agent_events() -> AgentEvents:
    return AgentEvents()
