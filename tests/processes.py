"""Real processes for tests: a dashboard (daphne) with its own database, and rig agents, on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

SCALE = os.environ.get("LABWEB_TEST_SCALE") == "1"
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def wait_until(predicate, timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; fail the test saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class DashboardProcess:
    """A dashboard with a database of its own (a SQLite file, or a fresh PostgreSQL database in scale mode)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}}
        self.env.update(LABWEB_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO), LABWEB_LOG_LEVEL="INFO")
        self.database = None
        if SCALE:
            self.database = f"labweb_proc_{uuid.uuid4().hex[:10]}"
            _postgres(f'CREATE DATABASE "{self.database}"')
            self.env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{self.database}"
            self.env["REDIS_URL"] = "redis://127.0.0.1:6379/14"
            self.env["LABWEB_CHANNEL_PREFIX"] = f"labweb-{self.database}"  # its own groups on the shared Redis
        self.process: subprocess.Popen | None = None
        self.manage("migrate", "-v0")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "labweb.cli", *args], env=self.env, capture_output=True,
                                text=True, timeout=120, cwd=REPO)
        if result.returncode != 0:
            raise RuntimeError(f"labweb {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def query(self, code: str):
        """Run ORM code in a separate process against this dashboard's database; `code` sets `result`."""
        script = f"import json\nfrom labweb.fleet.models import *\nfrom labweb.records.models import *\n{code}\nprint('RESULT=' + json.dumps(result))"
        out = self.manage("shell", "-c", script)
        return json.loads(out.split("RESULT=", 1)[1])

    def add_rig(self, name: str, kind: str = "video") -> str:
        return self.manage("rig", "add", name, "--kind", kind).strip()

    def start(self) -> None:
        log = open(self.data_dir / "daphne.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "labweb.asgi:application"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )
        wait_for_port(self.port)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when the server loses power or is OOM-killed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.database:
            _postgres(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self.database = None


def rig_config(path: Path, *, name: str, port: int, token: str, kind: str = "video", **extra) -> Path:
    config = {"name": name, "kind": kind, "dashboard": f"ws://127.0.0.1:{port}", "token": token,
              "state_dir": str(path.parent / f"{name}-state"), **extra}
    path.write_text(yaml.safe_dump(config))
    return path


def _postgres(sql: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        connection.execute(sql)


class Demo:
    """`labweb demo` as a user runs it, in a data dir of its own."""

    def __init__(self, data_dir: Path, rigs: int) -> None:
        self.port = free_port()
        self.password = "browser-test-pw"
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
        env.update(LABWEB_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
        self.env, self.data_dir = env, data_dir
        self.root = data_dir / "demo"  # the rigs' folders and the lab server's share
        self.output = data_dir.parent / "demo-output.txt"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labweb.cli", "demo", "--port", str(self.port), "--rigs", str(rigs),
             "--password", self.password],
            cwd=REPO, env=env, stdout=open(self.output, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        wait_for_port(self.port, timeout=60)
        self.pids = self._wait_for_pids(rigs)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_for_pids(self, rigs: int) -> dict[str, int]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = dict(re.findall(r"rig-(\S+): pid (\d+)", self.output.read_text()))
            if len(pids) == rigs:
                return {name: int(pid) for name, pid in pids.items()}
            time.sleep(0.2)
        raise TimeoutError(f"the demo did not start its rigs: {self.output.read_text()}")

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=30)

    def manage(self, *args: str) -> str:
        """`labweb ARGS` against the demo's own database, as a lab manager would type it beside the demo."""
        result = subprocess.run([sys.executable, "-m", "labweb.cli", *args], env=self.env, capture_output=True,
                                text=True, timeout=120, cwd=REPO)
        if result.returncode != 0:
            raise RuntimeError(f"labweb {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def query(self, code: str):
        """Run ORM code in a separate process against the demo's database; `code` sets `result`."""
        script = ("import json\nfrom labweb.fleet.models import *\nfrom labweb.records.models import *\n"
                  f"from labweb.transfers.models import *\n{code}\nprint('RESULT=' + json.dumps(result))")
        return json.loads(self.manage("shell", "-c", script).split("RESULT=", 1)[1])

    def login(self, page, user: str = "admin") -> None:
        page.goto(self.url + "/")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", self.password)
        page.click("button[type=submit]")
        page.wait_for_url(self.url + "/")
