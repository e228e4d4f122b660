"""A lab's whole day, as a lab manager walks it, with real processes on loopback: `labweb demo` (daphne, a
behaviour rig and two camera rigs, the lab server's folder), chromium, and the lab's own tools on the result.

An operator starts a three-rig session of 20 s from the browser; every rig runs (live on the session page); the
cameras spool into raw_video_data; the session ends by itself; each rig copies its share; the session is
finalized exactly once (live on the page); the Transfers page lists three verified copies with their files.
Then the server folder is read as the lab's pipeline reads it: ONE's ALF paths, ibllib's session_params, every
file's hash against the rig's own file; a second run of every rig's copier changes nothing. On the way: a busy
rig and an offline rig are refused (form and agent), and a second session is interrupted.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from playwright.sync_api import expect

from rigs.copier.hashes import hasher_new
from rigs.copier.manifest import manifest_read
from tests.processes import REPO, Demo, free_port

pytestmark = pytest.mark.browser

DURATION = 20
RIGS = ("behavior", "cam-left", "cam-right")
TAGS = {"behavior": "behavior", "cam-left": "video_left", "cam-right": "video_right"}


@pytest.fixture
def lab(tmp_path):
    demo = Demo(tmp_path / "data", rigs=3)
    # A fourth rig the lab registered whose PC is switched off.
    demo.manage("rig", "add", "cam-body", "--kind", "video", "--echo-uri", f"udp://127.0.0.1:{free_port()}")
    yield demo
    if demo.process.poll() is None:
        demo.stop()


def test_a_lab_day_from_the_dashboard_to_the_server(lab, page):
    lab.login(page)
    expect(page.locator(".rig-card.online")).to_have_count(3, timeout=30_000)

    exp_ref = start_session(page, lab, duration=DURATION)
    rows = page.locator("#participants tbody tr")
    expect(rows).to_have_count(3)
    for rig in RIGS:  # live: the page is not reloaded from here on
        expect(page.locator(f"tr[data-rig='{rig}'] .rig-state")).to_have_text("Running", timeout=20_000)
    expect(page.locator("#session-state")).to_have_text("Running")

    busy_and_offline_rigs_are_refused(page, lab, exp_ref)

    # The session ends by itself after its duration, each rig copies its share, the last one finalizes.
    expect(page.locator("#session-state")).to_have_text("Stopped", timeout=(DURATION + 20) * 1000)
    expect(page.locator("#session-data")).to_have_text("Finalized", timeout=60_000)
    for rig in RIGS:
        expect(page.locator(f"tr[data-rig='{rig}'] .copy-state")).to_have_text("3 · Finalized")
    expect(page.locator("#session-controls")).to_be_hidden()

    the_transfers_page_lists_three_verified_copies(page, lab, exp_ref)
    session_dir = the_server_holds_what_the_pipeline_reads(lab, exp_ref)
    a_second_run_of_every_copier_changes_nothing(lab, session_dir)
    a_second_session_is_interrupted(page, lab)
    no_rig_went_silent(lab)


def start_session(page, lab, *, duration: int | None) -> str:
    page.goto(lab.url + "/sessions/start/")
    expect(page.locator("select[name=subject] option:checked")).to_have_text("demo_mouse")  # the demo's subject
    expect(page.locator("select[name=main] option:checked")).to_have_text("behavior")  # the rig set up as main sync
    expect(page.locator("select[name=main_sync] option:checked")).to_have_text("behavior")
    expect(page.get_by_label("cam-body — offline")).to_be_disabled()
    for rig in RIGS:
        page.get_by_label(rig, exact=True).check()
    if duration:
        page.fill("input[name=duration]", str(duration))
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/*_demo_mouse/")
    return page.url.rstrip("/").rsplit("/", 1)[1]


def busy_and_offline_rigs_are_refused(page, lab, exp_ref: str) -> None:
    form = lab.url + "/sessions/start/"
    other = page.context.new_page()
    other.goto(form)
    for rig in RIGS:  # offered greyed out, saying which session holds them
        expect(other.get_by_label(f"{rig} — in session {exp_ref}")).to_be_disabled()
    # Posted anyway (a second operator's stale form): refused, nothing recorded.
    ids = lab.query("result = dict(Rig.objects.values_list('name', 'pk'))")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    body = urlencode([("csrfmiddlewaretoken", token), ("subject", lab.query("result = Subject.objects.get().pk")),
                      ("rigs", ids["cam-left"]), ("rigs", ids["cam-body"]), ("main", ids["cam-left"]),
                      ("main_sync", ids["cam-left"])])
    response = other.request.post(form, data=body, headers={
        "Referer": form, "Content-Type": "application/x-www-form-urlencoded"})
    text = response.text()
    assert f"cam-left (in {exp_ref})" in text and "offline: cam-body" in text
    assert lab.query("result = Session.objects.count()") == 1
    other.close()

    # An iblrig-style main on the command line asking the same camera for another session: refused by the rig.
    remote_rigs = lab.data_dir / "intruder.yaml"
    remote_rigs.write_text(yaml.safe_dump({"cam-left": rig_yaml(lab, "cam-left")["echo"]}))
    intruder = subprocess.run([sys.executable, "-m", "rigs.cli", "session", "--remote-rigs", str(remote_rigs),
                               "--subject", "demo_mouse", "--timeout", "3"],
                              cwd=REPO, capture_output=True, text=True, timeout=60)
    assert intruder.returncode == 1 and f"is in session {exp_ref}" in intruder.stderr
    expect(page.locator("tr[data-rig='cam-left'] .rig-state")).to_have_text("Running")  # still recording


def the_transfers_page_lists_three_verified_copies(page, lab, exp_ref: str) -> None:
    page.goto(lab.url + "/transfers/?subject=demo_mouse")
    rows = page.locator("table.transfers tbody tr", has_text=exp_ref)
    expect(rows).to_have_count(3)
    for index in range(3):
        expect(rows.nth(index).locator(".verified")).to_have_text("yes")
    records = lab.query(f"result = list(Transfer.objects.filter(exp_ref='{exp_ref}')"
                        ".values('rig__name', 'outcome', 'files', 'state_before', 'state_after', 'verified'))")
    assert sorted(r["rig__name"] for r in records) == sorted(RIGS)
    assert all(r["verified"] and r["files"] > 0 for r in records)
    # Finalized exactly once: one copy took the session to 3, the others found it waiting for them.
    assert sum(r["state_after"] == 3 and r["state_before"] < 3 for r in records) == 1
    finalizer = next(r for r in records if r["outcome"] == "finalized")
    rows.filter(has_text=finalizer["rig__name"]).locator("a").first.click()
    expect(page.locator("table.transfer-file-list tbody tr")).to_have_count(finalizer["files"])


def the_server_holds_what_the_pipeline_reads(lab, exp_ref: str) -> Path:
    server = lab.root / "server" / "Subjects"
    [session_dir] = server.glob(f"demo_mouse/*/{int(exp_ref.split('_')[1]):03d}")

    from one.alf.path import get_session_path, session_path_parts

    video = session_dir / "raw_video_data" / "_labweb_leftCamera.raw.h5"
    assert get_session_path(video) == session_dir  # ONE finds the session a file belongs to
    parts = session_path_parts(session_dir, as_dict=True)
    assert (parts["subject"], parts["date"], parts["number"]) == ("demo_mouse", exp_ref[:10], session_dir.name)
    os.environ.setdefault("IBLLIB_USE_LOGGING", "0")
    from ibllib.io import session_params

    description = session_params.read_params(session_dir)
    assert session_params.get_cameras(description) == ["left", "right"]
    assert session_params.get_sync(description)[0] == "bpod"
    assert session_params.get_task_protocol(description) == {"_iblrig_tasks_trainingChoiceWorld8.0.0"}
    collections = session_params.get_collections(description)
    assert {collections[k] for k in ("left", "right")} == {"raw_video_data"}
    assert collections["bpod"] == "raw_task_data_00"
    stubs = sorted(p.name for p in (session_dir / "_devices").glob("*.yaml"))
    assert stubs == sorted(f"{exp_ref}@{tag}.yaml" for tag in TAGS.values())
    assert sorted(p.suffix for p in (session_dir / "_devices").glob("*.status_*")) == [".status_final"] * 3
    assert (session_dir / "raw_session.flag").exists()

    for rig, tag in TAGS.items():  # every file on the server is byte for byte the rig's own
        manifest = manifest_read(session_dir / "_devices" / f"{exp_ref}@{tag}.manifest.json")
        local = Path(rig_yaml(lab, rig)["data"]["local_subjects"]).joinpath(*session_dir.parts[-3:])
        assert manifest.files, rig
        for entry in manifest.files:
            for copy in (local, session_dir):
                hasher = hasher_new(manifest.algorithm)
                hasher.update(copy.joinpath(*entry.path.split("/")).read_bytes())
                assert hasher.hexdigest() == entry.hash, (rig, copy, entry.path)
    videos = sorted(p.name for p in (session_dir / "raw_video_data").iterdir())
    assert videos == ["_labweb_leftCamera.raw.h5", "_labweb_rightCamera.raw.h5"]
    return session_dir


def a_second_run_of_every_copier_changes_nothing(lab, session_dir: Path) -> None:
    (session_dir / "raw_session.flag").unlink()  # the server's job creator registered the session
    before = snapshot(session_dir)
    for rig, tag in TAGS.items():
        config = rig_yaml(lab, rig)
        local = Path(config["data"]["local_subjects"])
        for folder in local.glob("demo_mouse/*/*"):
            (folder / "transfer_me.flag").touch()  # an operator asks again
        rerun = subprocess.run([sys.executable, "-m", "rigs.cli", "transfer", "--tag", tag, "--local", str(local),
                                "--remote", config["data"]["remote_subjects"], "--subject", "demo_mouse"],
                               cwd=REPO, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert "already finalized" in rerun.stdout
    assert snapshot(session_dir) == before  # nothing written: no stub, status, description or flag
    assert not (session_dir / "raw_session.flag").exists()


def a_second_session_is_interrupted(page, lab) -> None:
    exp_ref = start_session(page, lab, duration=None)
    for rig in RIGS:
        expect(page.locator(f"tr[data-rig='{rig}'] .rig-state")).to_have_text("Running", timeout=20_000)
    page.click("button[value=interrupt]")
    expect(page.locator("#session-state")).to_have_text("Interrupted", timeout=20_000)
    for rig in RIGS:
        expect(page.locator(f"tr[data-rig='{rig}'] .rig-state")).to_have_text("Interrupted", timeout=10_000)
    assert lab.query(f"result = Session.objects.get(exp_ref='{exp_ref}').ended_by") == "interrupt"


def no_rig_went_silent(lab) -> None:
    """Nothing a rig did for a session (folders, descriptions, the server stub, a camera opening) held up its
    heartbeat: the dashboard never marked one offline, and no link dropped."""
    log = (lab.root / "logs" / "daphne.log").read_text()
    assert "silent for" not in log and "disconnected" not in log, log[-3000:]


def rig_yaml(lab, rig: str) -> dict:
    return yaml.safe_load((lab.root / rig / "rig.yaml").read_text())


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under root with its size, its modification time and its content's hash."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            out[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns,
                                                hashlib.blake2b(path.read_bytes()).hexdigest())
    return out
