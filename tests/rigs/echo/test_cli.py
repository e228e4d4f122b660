"""`labweb-rig session` run as a real subprocess against labweb rigs on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from rigs.echo import EchoRig, ExpStatus

from .conftest import free_port

REPO = Path(__file__).resolve().parents[3]
REF = "2024-05-06_7_mouse"
pytestmark = pytest.mark.timeout(60)


async def _start_rigs(events, cam_start=None):
    ephys = EchoRig("udp://127.0.0.1:0", "ephys", main_sync=True, on_message=events.append)
    ephys.exp_ref = REF
    cam = EchoRig("tcp://127.0.0.1:0", "cam", on_message=events.append, on_start=cam_start)
    return [await ephys.start(), await cam.start()]


def _yaml(tmp_path: Path, rigs: dict[str, str]) -> Path:
    path = tmp_path / "remote_rigs.yaml"
    path.write_text("".join(f"{name}: '{uri}'\n" for name, uri in rigs.items()), encoding="utf-8")
    return path


async def _run_cli(yaml_path: Path, *extra: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rigs.cli", "session", "--remote-rigs", str(yaml_path), "--subject", "mouse", *extra,
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def _finish(proc: asyncio.subprocess.Process, rigs, timeout: float = 20) -> tuple[int, str, str]:
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        for rig in rigs:
            await rig.close()
    return proc.returncode, out.decode(), err.decode()


async def test_session_runs_and_prints_each_reply(tmp_path):
    events = []
    rigs = await _start_rigs(events)
    proc = await _run_cli(_yaml(tmp_path, {r.name: r.endpoint_uri for r in rigs}), "--duration", "0.2", "--timeout", "3")
    code, out, err = await _finish(proc, rigs)
    assert code == 0, err
    for rig in ("ephys", "cam"):
        for step in ("EXPINFO", "EXPINIT", "EXPSTART", "EXPSTATUS", "EXPEND", "EXPCLEANUP"):
            assert any(line.split()[:3] == [rig, step, "reply"] for line in out.splitlines()), (rig, step, out)
    assert f"session {REF} done (main sync: ephys)" in out
    cam_steps = [e.name for e in events if e.rig == "cam" and e.direction == "received"]
    assert cam_steps == ["EXPINFO", "EXPINIT", "EXPSTART", "EXPSTATUS", "EXPEND", "EXPCLEANUP"]


async def test_failing_rig_gives_non_zero_exit_naming_it(tmp_path):
    async def broken(request):
        raise RuntimeError("no camera connected")

    events = []
    rigs = await _start_rigs(events, cam_start=broken)
    proc = await _run_cli(_yaml(tmp_path, {r.name: r.endpoint_uri for r in rigs}), "--duration", "5", "--timeout", "3")
    code, out, err = await _finish(proc, rigs)
    assert code == 1
    assert "rigs that failed: cam" in err and "no camera connected" in err
    assert ("ephys", "EXPINTERRUPT") in [(e.rig, e.name) for e in events if e.direction == "received"]


async def test_silent_rig_is_named(tmp_path):
    events = []
    rigs = await _start_rigs(events)
    uris = {**{r.name: r.endpoint_uri for r in rigs}, "dead": f"udp://127.0.0.1:{free_port()}"}
    proc = await _run_cli(_yaml(tmp_path, uris), "--duration", "5", "--timeout", "1")
    code, out, err = await _finish(proc, rigs)
    assert code == 1 and "rigs that failed: dead" in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signal delivery to a child; Windows needs CTRL_C_EVENT")
async def test_sigint_interrupts_every_rig(tmp_path):
    events = []
    rigs = await _start_rigs(events)
    proc = await _run_cli(_yaml(tmp_path, {r.name: r.endpoint_uri for r in rigs}), "--timeout", "3")
    try:
        async with asyncio.timeout(15):
            while not all(r.status == ExpStatus.RUNNING for r in rigs) or not any(e.name == "EXPSTATUS" for e in events):
                await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGINT)
    except BaseException:
        proc.kill()
        raise
    code, out, err = await _finish(proc, rigs)
    assert code == 130, err
    received = [(e.rig, e.name) for e in events if e.direction == "received"]
    for rig in ("ephys", "cam"):
        assert (rig, "EXPINTERRUPT") in received and (rig, "EXPCLEANUP") in received and (rig, "EXPEND") not in received
    assert "interrupted" in err
