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

# A behaviour rig running a (simulated) Bpod task, which is the main sync, and cameras named as iblrig names them.
DEMO_RIGS = [("behavior", "behavior", None), ("cam-left", "video", "left"), ("cam-right", "video", "right"),
             ("cam-body", "video", "body")]
DEMO_PROTOCOL = "_iblrig_tasks_trainingChoiceWorld8.0.0"
STOP_GRACE_SECONDS = 5.0
DEMO_SUBJECT = "demo_mouse"
DEMO_TRANSFER_MB_S = 8  # paced so a copy lasts a few seconds and its progress can be watched
DEMO_CAMERA_BUFFER_MB = 64  # the spool buffer: small, so a camera starts in a blink on any laptop
# One camera's data disk is simulated (labweb.live.demo_rig): 24 GB filling at 20 MB/s falls under the default
# 20 GB alert limit after about 3 minutes, and is "cleaned up" (emptied) after about 19 minutes.
DEMO_LOW_DISK = {"disk_gb": 24.0, "fill_mb_s": 20.0}
DEMO_WEBHOOK_PORT_OFFSET = 10  # the demo's webhook receiver listens on the dashboard's port + 10


@dataclass
class Child:
    name: str
    process: subprocess.Popen


def demo_rig_names(count: int) -> list[tuple[str, str, str | None]]:
    """(name, kind, camera label) of each simulated rig; a label of None is a rig without a camera."""
    names = DEMO_RIGS[:count]
    names += [(f"rig-{i}", "video", f"rig{i}") for i in range(len(names) + 1, count + 1)]
    return names


def demo_location(index: int) -> str:
    """Rooms of eight rigs, so a demo of many rigs shows the front page's grouping by room."""
    return f"Room {index // 8 + 1}"


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
    server = root / "server" / "Subjects"  # the lab server's share, for the copier
    server.mkdir(parents=True, exist_ok=True)
    for index, (name, kind, label) in enumerate(demo_rig_names(count)):
        rig = Rig.objects.filter(name=name).first()
        if rig is None:
            rig, token = fleet_services.rig_create(name=name, kind=kind, echo_uri=demo_echo_uri(port, index),
                                                   location=demo_location(index))
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
            "main_sync": label is None,
            "state_dir": str(rig_dir / "state"),
            "data": {"local_subjects": str(rig_dir / "Subjects"), "remote_subjects": str(server)},
            "transfer": {"max_rate_mb_s": DEMO_TRANSFER_MB_S},
        }
        if label is None:
            config["task"] = {"protocol": DEMO_PROTOCOL, "trial_seconds": 1.0,
                              "procedures": ["Behavior training/tasks"], "projects": ["labweb_demo"]}
        else:
            config["tag"] = f"video_{label}"  # one camera per PC: each registers on the server as its own device
            config["camera"] = {"source": "synthetic", "shape": [512, 512], "dtype": "uint16", "fps": 20,
                                "label": label}
            config["spool"] = {"compression": "blosc-lz4", "buffer_mb": DEMO_CAMERA_BUFFER_MB}
        path = rig_dir / "rig.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        path.chmod(0o600)  # it holds the rig's token
        configs.append(path)
    return configs


def demo_subject() -> Subject:
    """A subject to start sessions for, so that the demo's first session needs nothing typed in first."""
    return Subject.objects.filter(name=DEMO_SUBJECT).first() or services.subject_create(
        name=DEMO_SUBJECT, species="mouse", notes="Made by labweb demo.")


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


def demo_low_disk_rig(names: list[str]) -> str | None:
    """The rig whose disk runs low: cam-right when there is one, else the last camera."""
    cameras = [name for name, kind, label in demo_rig_names(len(names)) if label is not None]
    return "cam-right" if "cam-right" in cameras else (cameras[-1] if cameras else None)


def demo_agent_argv(config: Path, *, low_disk: bool) -> list[str]:
    if not low_disk:
        return agent_argv(config)
    return [sys.executable, "-m", "labweb.live.demo_rig", "--config", str(config),
            "--disk-gb", str(DEMO_LOW_DISK["disk_gb"]), "--fill-mb-s", str(DEMO_LOW_DISK["fill_mb_s"])]


def demo_webhook(*, port: int, root: Path) -> tuple[list[str], Path]:
    """The demo's webhook receiver (its log in the data dir) and a destination that sends it every alert."""
    from labweb.alerts.models import Destination

    hook_port = port + DEMO_WEBHOOK_PORT_OFFSET
    log = root / "webhooks.log"
    Destination.objects.update_or_create(name="demo-webhook", defaults={
        "url": f"json://127.0.0.1:{hook_port}/labweb", "email": "", "kinds": [], "enabled": True})
    argv = [sys.executable, "-m", "labweb.alerts.receiver", "--port", str(hook_port), "--log", str(log)]
    return argv, log


def demo_root() -> Path:
    return Path(settings.DATA_DIR) / "demo"
