"""`labweb demo`: the whole system on one machine — daphne plus simulated rig agents as child processes."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from labweb.fleet import services as fleet_services
from labweb.fleet.models import Rig
from labweb.fleet.roles import OPERATORS
from labweb.records import services
from labweb.records.models import Subject

DEMO_RIGS = [("behavior", "behavior"), ("cam-left", "video"), ("cam-right", "video"), ("ephys", "ephys"),
             ("cam-body", "video")]
STOP_GRACE_SECONDS = 5.0
DEMO_SUBJECT = "demo_mouse"
DEMO_TRANSFER_FLAG = "transfer_me.flag"
DEMO_TRANSFER_MB_S = 8


@dataclass
class Child:
    name: str
    process: subprocess.Popen


def demo_rig_names(count: int) -> list[tuple[str, str]]:
    names = DEMO_RIGS[:count]
    names += [(f"rig-{i}", "video") for i in range(len(names) + 1, count + 1)]
    return names


def demo_echo_uri(port: int, index: int) -> str:
    """Echo ports follow the dashboard's (8000 -> 11101, 11102, ...), so two demos on two ports never collide."""
    return f"udp://127.0.0.1:{port + 3101 + index}"


def demo_user(*, username: str, password: str | None) -> str:
    """Create or update the operator account; returns the password it now has."""
    password = password or os.environ.get("LABWEB_DEMO_PASSWORD") or secrets.token_urlsafe(9)
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=OPERATORS))
    return password


def demo_rig_configs(*, count: int, port: int, root: Path) -> list[Path]:
    """Register the simulated rigs (fresh tokens each start) and write each one's rig.yaml."""
    configs = []
    (root / "server" / "Subjects").mkdir(parents=True, exist_ok=True)  # the lab server's share, for the copier
    for index, (name, kind) in enumerate(demo_rig_names(count)):
        rig = Rig.objects.filter(name=name).first()
        if rig is None:
            rig, token = fleet_services.rig_create(name=name, kind=kind, echo_uri=demo_echo_uri(port, index))
        else:
            token = fleet_services.rig_token_rotate(rig=rig)
            rig.echo_uri = demo_echo_uri(port, index)
            rig.save(update_fields=["echo_uri"])
        rig_dir = root / name
        rig_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "name": name,
            "kind": kind,
            "dashboard": f"ws://127.0.0.1:{port}",
            "token": token,
            "echo": rig.echo_uri,
            "main_sync": index == 0,
            "state_dir": str(rig_dir / "state"),
            "data": {"local_subjects": str(rig_dir / "Subjects"), "remote_subjects": str(root / "server" / "Subjects")},
            "camera": {"source": "synthetic", "shape": [512, 512], "dtype": "uint16", "fps": 20},
            "spool": {"compression": "blosc-lz4"},
            # Paced so a demo copy lasts a few seconds and its progress can be watched on the card.
            "transfer": {"max_rate_mb_s": DEMO_TRANSFER_MB_S},
        }
        if index == 0:
            demo_session_flagged(rig=rig, local_subjects=rig_dir / "Subjects")
        path = rig_dir / "rig.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        path.chmod(0o600)  # it holds the rig's token
        configs.append(path)
    return configs


def demo_session_flagged(*, rig: Rig, local_subjects: Path) -> Path | None:
    """A recorded session waiting for its copy (about 30 MB), unless one waits already: "Copy to server" on the
    first rig's card then has something to send to the demo's server folder."""
    if any(local_subjects.glob(f"*/*/*/{DEMO_TRANSFER_FLAG}")):
        return None
    subject = Subject.objects.filter(name=DEMO_SUBJECT).first() or services.subject_create(name=DEMO_SUBJECT)
    session = services.session_create(subject=subject, rigs=[rig], main_rig=rig)
    folder = local_subjects / subject.name / session.date.isoformat() / f"{session.number:03d}"
    data = folder / "raw_task_data_00"
    data.mkdir(parents=True, exist_ok=True)
    description = {"version": "1.0.0", "tasks": [{"_iblrig_tasks_trainingChoiceWorld": {"collection": data.name}}]}
    (folder / f"_ibl_experiment.description_{rig.kind}.yaml").write_text(yaml.safe_dump(description), encoding="utf-8")
    for index in range(3):
        (data / f"_iblrig_video_{index}.raw.bin").write_bytes(os.urandom(8 << 20))
    for index in range(150):
        (data / f"_iblrig_trial_{index:04d}.raw.jsonable").write_bytes(os.urandom(50_000))
    (folder / DEMO_TRANSFER_FLAG).touch()
    return folder


def _die_with_parent() -> None:
    """Linux: children die with the demo even if it is killed with SIGKILL (elsewhere, stop() still covers it)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def spawn(name: str, argv: list[str], *, log_dir: Path) -> Child:
    log_file = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it for its life
    kwargs: dict = {"stdout": log_file, "stderr": subprocess.STDOUT, "stdin": subprocess.DEVNULL}
    if sys.platform != "win32":
        # Own process group: a Ctrl-C at the terminal reaches only the demo, which then stops children in order.
        kwargs.update(start_new_session=True, preexec_fn=_die_with_parent)
    else:
        kwargs.update(creationflags=subprocess.CREATE_NEW_PROCESS_GROUP)
    return Child(name, subprocess.Popen(argv, **kwargs))


def wait_for_port(port: int, *, timeout: float, child: Child) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited with code {child.process.returncode} (see its log)")
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not listen on port {port} within {timeout:.0f} s")


def stop_all(children: list[Child]) -> None:
    """Stop the agents first (so their last events reach the dashboard), then the dashboard.

    Each child is in its own process group, so each gets its own SIGTERM; whatever is still there after the
    grace time gets SIGKILL.
    """
    agents, servers = children[1:], children[:1]
    for group in (agents, servers):
        for child in group:
            if child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in group:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


def daphne_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "labweb.asgi:application"]


def agent_argv(config: Path) -> list[str]:
    return [sys.executable, "-m", "rigs.cli", "run", "--config", str(config)]


def demo_root() -> Path:
    return Path(settings.DATA_DIR) / "demo"
