"""The agent's copier part with real files: a real Agent (no dashboard), its actions called directly, its outbox read."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from pathlib import Path

import pytest
import yaml

from rigs.agent import agent_build
from rigs.config import TransferConfig, config_from_dict
from rigs.copier import manifest_read
from rigs.copier.hashes import hasher_new
from rigs.layout import TRANSFER_FLAG
from rigs.link import CommandFailed
from rigs.messages import MAX_MESSAGE_BYTES, encode
from rigs.outbox import EventOutbox
from rigs.parts import copier
from rigs.parts.copier import manifest_chunks


def part_of(agent, key: str):
    """A part of a built agent, by its status key (tests look parts up; parts never look each other up)."""
    return next((part for part in agent.parts if part.key == key), None)


DESCRIPTION = {"version": "1.0.0", "tasks": [{"_iblrig_tasks_trainingChoiceWorld": {"collection": "raw_task_data_00"}}]}
TERMINAL = ("transfer.done", "transfer.failed")


def write_session(local: Path, files: dict[str, int], *, subject: str = "ZM_001", date: str = "2024-05-01",
                  number: str = "1", description: bool = True) -> Path:
    session = local / subject / date / number
    session.mkdir(parents=True)
    if description:
        (session / "_ibl_experiment.description_behavior.yaml").write_text(yaml.safe_dump(DESCRIPTION))
    for index, (rel, size) in enumerate(files.items()):
        path = session / "raw_task_data_00" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(hashlib.sha256(f"{rel}{index}".encode()).digest() * (size // 32) + b"x" * (size % 32))
    (session / TRANSFER_FLAG).touch()
    return session


class Rig:
    """A running agent with only the copier part, and its outbox to read."""

    def __init__(self, tmp_path: Path, **transfer) -> None:
        self.local = tmp_path / "local" / "Subjects"
        self.remote = tmp_path / "server" / "Subjects"
        self.local.mkdir(parents=True, exist_ok=True)
        self.remote.mkdir(parents=True, exist_ok=True)
        config = config_from_dict({"name": "box-1", "kind": "behavior", "state_dir": str(tmp_path / "state"),
                                   "data": {"local_subjects": str(self.local), "remote_subjects": str(self.remote)},
                                   "transfer": transfer or None})
        self.agent = agent_build(config)
        self.part = part_of(self.agent, "transfer")
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> Rig:
        self.task = asyncio.ensure_future(self.agent.run())
        while not self.part._thread.is_alive():
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def stop(self) -> None:
        self.agent.stop()
        await asyncio.wait_for(self.task, timeout=15)

    def events(self, prefix: str = "transfer.") -> list[dict]:
        """Events in the outbox (reopened from disk once the agent has stopped and closed it)."""
        outbox = self.agent.outbox if not self.task.done() else EventOutbox(self.agent.config.outbox_path)
        return [e for e in outbox.pending(limit=1_000_000) if e["name"].startswith(prefix)]

    async def wait_for(self, name: str, count: int = 1, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e["name"] in ((name,) if isinstance(name, str) else name)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{count} x {name} not in the outbox after {timeout} s: {[e['name'] for e in self.events()]}")


async def test_run_copies_a_flagged_session_and_reports_it_in_order(tmp_path):
    async with Rig(tmp_path) as rig:
        session = write_session(rig.local, {"_iblrig_taskData.raw.jsonable": 300_000, "settings.json": 2_000})
        reply = await rig.part.run({})
        [done] = await rig.wait_for("transfer.done")
        assert reply["queued"] == ["2024-05-01_1_ZM_001"]
        names = [e["name"] for e in rig.events()]
        assert names == ["transfer.started", "transfer.files", "transfer.done"]
        started, files, _ = rig.events()
        data = done["data"]
        assert started["data"]["id"] == files["data"]["id"] == data["id"]
        assert (started["data"]["trigger"], data["trigger"]) == ("operator", "operator")
        assert (data["outcome"], data["exp_ref"], data["files"], data["chunks"]) == ("finalized", "2024-05-01_1_ZM_001", 2, 1)
        assert data["verified"] and data["state_before"] == 0 and data["state_after"] == 3
        manifest = manifest_read(Path(data["manifest"]))
        assert files["data"]["files"] == [[f.path, f.size, f.hash] for f in manifest.files]
        local_file = session / "raw_task_data_00" / "_iblrig_taskData.raw.jsonable"
        row = next(r for r in files["data"]["files"] if r[0].endswith("taskData.raw.jsonable"))
        expected = hasher_new(manifest.algorithm)
        expected.update(local_file.read_bytes())
        assert row[1:] == [300_000, expected.hexdigest()]
        assert not (session / TRANSFER_FLAG).exists()
        status = rig.part.status()
        assert (status.active, status.queued, status.recent[0]["outcome"]) == (False, 0, "finalized")
        assert status.recent[0]["bytes"] == data["bytes"] and rig.agent.status()["state"] == "idle"


async def test_a_session_of_thousands_of_files_reaches_the_dashboard_in_chunks_under_the_message_limit(tmp_path):
    files = {f"trials/trial_{i:05d}.json": 40 + i % 200 for i in range(2_600)}
    async with Rig(tmp_path) as rig:
        write_session(rig.local, files)
        await rig.part.run({})
        [done] = await rig.wait_for("transfer.done", timeout=60)
        chunks = rig.events("transfer.files")
    expected = math.ceil(2_600 / 500)
    assert done["data"]["chunks"] == len(chunks) == expected
    assert [c["data"]["chunk"] for c in chunks] == list(range(expected))
    assert all(c["data"]["chunks"] == expected and len(c["data"]["files"]) <= 500 for c in chunks)
    for chunk in chunks:
        assert len(encode({"type": "event", "rig": "box-1", **chunk})) < MAX_MESSAGE_BYTES
    rows = [tuple(row) for c in chunks for row in c["data"]["files"]]
    manifest = manifest_read(Path(done["data"]["manifest"]))
    assert sorted(rows) == sorted((f.path, f.size, f.hash) for f in manifest.files)
    assert len(set(r[0] for r in rows)) == done["data"]["files"] == 2_600


def test_chunks_also_respect_a_byte_budget_for_long_paths():
    rows = [["a/" + "x" * 900 + f"{i}", i, "f" * 64] for i in range(400)]
    chunks = manifest_chunks(rows, max_files=500, max_bytes=100_000)
    assert len(chunks) > 1 and sum(len(c) for c in chunks) == 400
    assert all(len(json.dumps(c)) <= 100_000 for c in chunks)


async def test_a_failing_session_does_not_stop_the_next_one(tmp_path):
    async with Rig(tmp_path) as rig:
        write_session(rig.local, {"a.bin": 1000}, number="1", description=False)
        write_session(rig.local, {"a.bin": 1000}, number="2")
        await rig.part.run({})
        outcomes = await rig.wait_for(TERMINAL, count=2)
    by_ref = {e["data"]["exp_ref"]: e for e in outcomes}
    assert by_ref["2024-05-01_1_ZM_001"]["name"] == "transfer.failed"
    assert "no description for device 'behavior'" in by_ref["2024-05-01_1_ZM_001"]["data"]["error"]
    assert by_ref["2024-05-01_1_ZM_001"]["data"]["chunks"] == 0
    assert by_ref["2024-05-01_2_ZM_001"]["name"] == "transfer.done"


async def test_never_two_transfers_at_once_and_a_session_is_queued_only_once(tmp_path):
    async with Rig(tmp_path, max_rate_mb_s=8) as rig:
        for number in ("1", "2"):
            write_session(rig.local, {"big.bin": 2_000_000}, number=number)
        first = await rig.part.run({})
        again = await rig.part.run({})  # the same sessions, while the first copies
        assert await rig.part.queue_session(rig.local / "ZM_001" / "2024-05-01" / "2") is False
        await rig.wait_for("transfer.done", count=2)
        names = [e["name"] for e in rig.events() if e["name"] != "transfer.files"]
    assert len(first["queued"]) == 2 and again["queued"] == []
    assert names == ["transfer.started", "transfer.done", "transfer.started", "transfer.done"]


async def test_progress_is_live_in_the_status_while_copying(tmp_path):
    async with Rig(tmp_path, max_rate_mb_s=10) as rig:
        write_session(rig.local, {f"chunk_{i}.bin": 1_000_000 for i in range(12)})
        await rig.part.run({})
        seen = []
        while not rig.events("transfer.done"):
            status = rig.part.status()
            if status and status.active:
                seen.append(status.__dict__)
            await asyncio.sleep(0.1)
        assert rig.agent.status()["state"] == "idle"
        [done] = rig.events("transfer.done")
    assert done["data"]["seconds"] >= 1.0  # 12 MB at 10 MB/s
    moving = [s for s in seen if 0 < s["bytes_done"] < s["bytes_total"]]
    assert len(moving) >= 3, seen
    sample = moving[len(moving) // 2]
    assert sample["exp_ref"] == "2024-05-01_1_ZM_001" and sample["rate"] > 0 and sample["eta"] is not None
    assert sample["files_total"] == 12 and sample["rate"] < 20e6  # paced to about 10 MB/s
    assert any(s["current"] for s in moving)


async def test_stopping_the_agent_cancels_the_copy_and_the_next_run_resumes_it(tmp_path):
    async with Rig(tmp_path, max_rate_mb_s=4) as rig:
        session = write_session(rig.local, {f"part_{i}.bin": 1_000_000 for i in range(20)})
        await rig.part.run({})
        while not getattr(rig.part.status(), "bytes_done", 0):
            await asyncio.sleep(0.05)
        stopped_at = time.monotonic()
        await rig.stop()
        assert time.monotonic() - stopped_at < 5
        [failed] = [e for e in rig.events() if e["name"] == "transfer.failed"]
    assert "stopped with the agent" in failed["data"]["error"]
    assert (session / TRANSFER_FLAG).exists() and failed["data"]["state_after"] == 1
    async with Rig(tmp_path) as rig:
        await rig.part.run({})
        [done] = await rig.wait_for("transfer.done")
    assert 0 < done["data"]["files_copied"] < done["data"]["files"] == 20
    assert (rig.remote / "ZM_001/2024-05-01/001/raw_task_data_00/part_19.bin").read_bytes() == (
        session / "raw_task_data_00/part_19.bin").read_bytes()


async def test_verify_reports_a_good_copy_and_names_a_corrupt_file(tmp_path):
    async with Rig(tmp_path) as rig:
        write_session(rig.local, {"a.bin": 5000, "b.bin": 7000})
        await rig.part.run({})
        [done] = await rig.wait_for("transfer.done")
        good = await rig.part.verify_now({"exp_ref": "2024-05-01_1_ZM_001", "id": done["data"]["id"]})
        assert good == {"exp_ref": "2024-05-01_1_ZM_001", "tag": "behavior", "ok": True, "files": 2, "bad_count": 0}
        (rig.remote / "ZM_001/2024-05-01/001/raw_task_data_00/b.bin").write_bytes(b"y" * 7000)
        with pytest.raises(CommandFailed, match=r"1 of 2 files differ: raw_task_data_00/b.bin \(hash\)"):
            await rig.part.verify_now({"session": "ZM_001/2024-05-01/001"})
        first, second = await rig.wait_for("transfer.verified", count=2)
    assert first["data"]["ok"] and first["data"]["id"] == done["data"]["id"]
    assert not second["data"]["ok"] and second["data"]["id"] is None
    assert second["data"]["bad"] == [{"path": "raw_task_data_00/b.bin", "status": "hash",
                                      "message": "content differs from what was copied"}]


async def test_verify_of_a_session_the_server_does_not_hold_fails_and_is_recorded(tmp_path):
    async with Rig(tmp_path) as rig:
        with pytest.raises(CommandFailed, match="no transfer manifest"):
            await rig.part.verify_now({"exp_ref": "2024-05-01_9_ZM_001"})
        [event] = await rig.wait_for("transfer.verified")
    assert event["data"]["ok"] is False and event["data"]["files"] == 0


@pytest.mark.parametrize(
    ("action", "params", "message"),
    [
        ("run", {"colour": "red"}, "transfer.run: unknown parameter 'colour'"),
        ("run", {}, "no session holds transfer_me.flag"),
        ("run", {"subject": "../other"}, "subject must be a name or a glob, not a path"),
        ("run", {"exp_ref": "yesterday"}, "is not an exp_ref"),
        ("verify_now", {}, "give exp_ref or session"),
        ("verify_now", {"session": "../../etc/2024-01-01/001"}, "must be subject/yyyy-mm-dd/NNN"),
        ("verify_now", {"exp_ref": "2024-05-01_1_ZM_001", "tag": "a/b"}, "device tag 'a/b'"),
    ],
)
async def test_bad_commands_are_refused_with_the_reason(tmp_path, action, params, message):
    async with Rig(tmp_path) as rig:
        with pytest.raises(CommandFailed, match=message):
            await getattr(rig.part, action)(params)


async def test_run_by_exp_ref_copies_only_that_session(tmp_path):
    async with Rig(tmp_path) as rig:
        write_session(rig.local, {"a.bin": 100}, number="1")
        write_session(rig.local, {"a.bin": 100}, number="2")
        reply = await rig.part.run({"exp_ref": "2024-05-01_2_ZM_001"})
        await rig.wait_for("transfer.done")
        await asyncio.sleep(0.2)
        assert reply["queued"] == ["2024-05-01_2_ZM_001"]
        assert [e["data"]["exp_ref"] for e in rig.events() if e["name"] == "transfer.started"] == ["2024-05-01_2_ZM_001"]


async def test_a_session_that_ends_is_queued_by_the_session_part(tmp_path):
    async with Rig(tmp_path) as rig:
        session = write_session(rig.local, {"a.bin": 100})
        assert await rig.part.queue_session(session) is True
        [started] = await rig.wait_for("transfer.started")
        await rig.wait_for("transfer.done")
    assert started["data"]["trigger"] == "session"


async def test_the_schedule_finds_flagged_sessions_by_itself(tmp_path):
    rig = Rig(tmp_path)
    rig.part.settings = TransferConfig(schedule_minutes=0.005)  # 0.3 s; the config refuses less than a minute
    async with rig:
        write_session(rig.local, {"a.bin": 100})
        [done] = await rig.wait_for("transfer.done", timeout=10)
    assert done["data"]["trigger"] == "schedule"


def test_the_agent_gets_a_copier_only_with_a_servers_folder(tmp_path):
    base = {"name": "box-1", "kind": "behavior", "state_dir": str(tmp_path / "state"),
            "echo": "udp://127.0.0.1:0"}
    without = agent_build(config_from_dict({**base, "data": {"local_subjects": str(tmp_path)}}))
    with_server = agent_build(config_from_dict({**base, "data": {"local_subjects": str(tmp_path),
                                                                 "remote_subjects": str(tmp_path / "srv")}}))
    assert part_of(without, "transfer") is None and "transfer.run" not in without.actions
    assert isinstance(part_of(with_server, "transfer"), copier.CopierPart)
    assert {"transfer.run", "transfer.verify"} <= set(with_server.hello()["capabilities"])
