"""The whole path with real parts: a dashboard (daphne), real rig agents, an SMTP server and a webhook receiver on
loopback. A rig killed with SIGKILL, a rig whose data disk (a real tmpfs) fills up, and a rig whose copy fails:
each gives exactly one notification when its alert opens and one when it resolves, by e-mail and by webhook."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from websockets.sync.client import connect

from tests.processes import REPO, DashboardProcess, rig_config

from .receivers import Mailbox, Webhooks

pytestmark = pytest.mark.slow
SETTLE_SECONDS = 4.0  # a few more checks (1 s apart) after the resolution: a duplicate would show by then


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("alerts-e2e")
    with Mailbox() as mailbox:
        hooks = Webhooks(root / "webhooks.log")
        dashboard = DashboardProcess(root / "dashboard")
        dashboard.env.update(
            LABWEB_ALERT_CHECK_SECONDS="1", LABWEB_ALERT_RIG_OFFLINE_MINUTES="0.1", LABWEB_ALERT_DISK_FREE_GB="0.03",
            LABWEB_EMAIL_HOST="127.0.0.1", LABWEB_EMAIL_PORT=str(mailbox.port), LABWEB_URL="http://lab.test",
        )
        dashboard.query(
            "from labweb.alerts.models import Destination\n"
            "Destination.objects.create(name='mail', email='manager@lab.test')\n"
            f"Destination.objects.create(name='chat', url='{hooks.url}')\nresult = 1"
        )
        dashboard.start()
        try:
            yield dashboard, mailbox, hooks, root
        finally:
            dashboard.stop()
            hooks.stop()


class Agent:
    def __init__(self, dashboard: DashboardProcess, root: Path, name: str, kind: str = "video", **extra) -> None:
        token = dashboard.add_rig(name, kind)
        self.config = rig_config(root / f"{name}.yaml", name=name, port=dashboard.port, token=token, kind=kind, **extra)
        self.log = root / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "rigs.cli", "run", "--config", str(self.config)],
                                        cwd=REPO, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


def wait_for(what, timeout: float = 60.0, message: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        assert time.monotonic() < deadline, message or "condition not met in time"
        time.sleep(0.25)


def told(mailbox: Mailbox, hooks: Webhooks, needle: str) -> dict[str, list[str]]:
    """Notifications whose subject names `needle`, opened and resolved, per channel."""
    mail = [s for s in mailbox.subjects() if needle in s]
    chat = [t for t in hooks.titles() if needle in t]
    return {
        "mail opened": [s for s in mail if "Resolved:" not in s], "mail resolved": [s for s in mail if "Resolved:" in s],
        "chat opened": [t for t in chat if "Resolved:" not in t], "chat resolved": [t for t in chat if "Resolved:" in t],
    }


def one_each(notes: dict[str, list[str]]) -> bool:
    return all(len(v) == 1 for v in notes.values())


def online(dashboard: DashboardProcess, name: str) -> bool:
    return dashboard.query(f"result = Rig.objects.get(name='{name}').online")


def test_a_killed_rig_is_told_once_when_it_goes_silent_and_once_when_it_is_back(lab):
    dashboard, mailbox, hooks, root = lab
    agent = Agent(dashboard, root, "killed")
    agent.start()
    try:
        wait_for(lambda: online(dashboard, "killed"), message="the agent did not connect")
        agent.kill()
        notes = wait_for(lambda: (n := told(mailbox, hooks, "killed offline"))["mail opened"] and n["chat opened"] and n,
                         message="no notification of the killed rig")
        assert "[labweb] killed offline for" in notes["mail opened"][0]
        agent.start()
        wait_for(lambda: one_each(told(mailbox, hooks, "killed offline")), message="no resolution after the restart")
        time.sleep(SETTLE_SECONDS)
        assert one_each(told(mailbox, hooks, "killed offline")), told(mailbox, hooks, "killed offline")
        body = next(m for m in mailbox.messages if "killed offline" in str(m["Subject"])).get_payload()
        assert "http://lab.test/alerts/?alert=" in body
    finally:
        agent.stop()


@pytest.fixture
def tmpfs(tmp_path):
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a tmpfs")
    where = tmp_path / "disk"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(where)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_disk_that_fills_up_is_told_once_and_once_again_when_space_is_freed(lab, tmpfs):
    dashboard, mailbox, hooks, root = lab
    (tmpfs / "Subjects").mkdir()
    agent = Agent(dashboard, root, "filled", data={"local_subjects": str(tmpfs / "Subjects")})
    agent.start()
    try:
        wait_for(lambda: online(dashboard, "filled"))
        time.sleep(3)  # a few checks with 64 MB free: above the 30 MB limit, nothing is said
        assert told(mailbox, hooks, "filled:") == {k: [] for k in ("mail opened", "mail resolved", "chat opened", "chat resolved")}
        ballast = tmpfs / "Subjects" / "ballast.bin"
        with open(ballast, "wb") as handle:
            handle.write(os.urandom(48 * 1024 * 1024))
        notes = wait_for(lambda: (n := told(mailbox, hooks, "filled:"))["mail opened"] and n["chat opened"] and n)
        assert "free on its data disk" in notes["chat opened"][0]
        ballast.unlink()
        wait_for(lambda: one_each(told(mailbox, hooks, "filled:")), message="no resolution after freeing space")
        time.sleep(SETTLE_SECONDS)
        assert one_each(told(mailbox, hooks, "filled:")), told(mailbox, hooks, "filled:")
    finally:
        agent.stop()


DESCRIPTION = {"version": "1.0.0", "tasks": [{"_iblrig_tasks_trainingChoiceWorld": {"collection": "raw_task_data_00"}}]}


def test_a_failed_copy_is_told_once_however_often_it_fails_and_once_when_a_later_copy_succeeds(lab):
    dashboard, mailbox, hooks, root = lab
    local, remote = root / "copier" / "Subjects", root / "server" / "Subjects"
    session = local / "ZM_001" / "2024-05-01" / "001"
    (session / "raw_task_data_00").mkdir(parents=True)
    (session / "raw_task_data_00" / "trials.jsonable").write_bytes(b"{}\n" * 1000)
    (session / "transfer_me.flag").touch()  # but no description: every copy fails until it is written
    remote.mkdir(parents=True)
    agent = Agent(dashboard, root, "copier", kind="behavior", data={"local_subjects": str(local), "remote_subjects": str(remote)})
    agent.start()
    try:
        wait_for(lambda: online(dashboard, "copier"))
        for attempt in (1, 2):  # an operator asks twice: two failed copies, one alert
            operator_command(dashboard, "copier", "transfer.run")
            wait_for(lambda attempt=attempt: failed_copies(dashboard) == attempt, message=f"copy {attempt} did not fail")
        notes = wait_for(lambda: (n := told(mailbox, hooks, "copy of 2024-05-01_1_ZM_001"))["mail opened"] and n["chat opened"] and n)
        assert notes["mail opened"] == ["[labweb] copier: copy of 2024-05-01_1_ZM_001 failed"]
        (session / "_ibl_experiment.description_behavior.yaml").write_text(yaml.safe_dump(DESCRIPTION))
        operator_command(dashboard, "copier", "transfer.run")
        wait_for(lambda: one_each(told(mailbox, hooks, "copy of 2024-05-01_1_ZM_001")), message="no resolution")
        time.sleep(SETTLE_SECONDS)
        assert one_each(told(mailbox, hooks, "copy of 2024-05-01_1_ZM_001"))
        assert failed_copies(dashboard) == 2
    finally:
        agent.stop()


def failed_copies(dashboard: DashboardProcess) -> int:
    return dashboard.query("from labweb.transfers.models import Transfer\n"
                           "result = Transfer.objects.filter(outcome='failed').count()")


def operator_command(dashboard: DashboardProcess, rig: str, action: str) -> None:
    """What the card's button does: an operator's browser socket sends the command (a real login session)."""
    key = dashboard.query(
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.models import Group\n"
        "from django.contrib.sessions.backends.db import SessionStore\n"
        "user, _ = get_user_model().objects.get_or_create(username='olga')\n"
        "user.groups.add(Group.objects.get(name='Operators'))\n"
        "store = SessionStore()\n"
        "store.update({'_auth_user_id': str(user.pk), '_auth_user_backend': 'django.contrib.auth.backends.ModelBackend',"
        " '_auth_user_hash': user.get_session_auth_hash()})\n"
        "store.create()\nresult = store.session_key")
    headers = {"Cookie": f"sessionid={key}", "Origin": dashboard.url}
    with connect(f"ws://127.0.0.1:{dashboard.port}/ws/dashboard/", additional_headers=headers) as socket:
        socket.recv(timeout=10)  # the snapshot
        socket.send(json.dumps({"type": "command", "ref": "1", "rig": rig, "action": action, "params": {}}))
        while True:
            message = json.loads(socket.recv(timeout=10))
            if message.get("type") == "command":
                assert message["error"] is None, message
                return
