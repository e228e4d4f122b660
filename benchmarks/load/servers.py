"""Dashboards for the load harness: N daphne processes on one database (SQLite, or PostgreSQL + Redis), the rigs
and the user they need, and what each process costs (CPU seconds, RSS) read from /proc.

Kept apart from tests/processes.py on purpose: the harness must not change when the tests' helpers do.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/13"


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


def labweb(env: dict[str, str], *args: str) -> str:
    """`labweb ARGS` (manage.py) in a child process with `env`; its standard output."""
    result = subprocess.run([sys.executable, "-m", "labweb.cli", *args], env=env, capture_output=True, text=True,
                            timeout=600, cwd=env.get("PYTHONPATH") or REPO)
    if result.returncode != 0:
        raise RuntimeError(f"labweb {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result.stdout


def register(env: dict[str, str], *, rigs: int, prefix: str = "sim-", user: str | None = None,
             password: str | None = None) -> dict[str, str]:
    """Register `rigs` rigs named PREFIX000.. (fresh tokens for those that exist) and, if asked, a user with
    `password` who may watch; returns {rig name: agent token}. Runs against the database `env` points at."""
    script = f"""
import json
from django.contrib.auth import get_user_model
from labweb.fleet import services
from labweb.fleet.models import Rig
tokens = {{}}
for i in range({rigs}):
    name = "{prefix}%03d" % i
    rig = Rig.objects.filter(name=name).first()
    tokens[name] = services.rig_token_rotate(rig=rig) if rig else services.rig_create(name=name, kind="video")[1]
if {user!r}:
    account, _ = get_user_model().objects.get_or_create(username={user!r})
    account.set_password({password!r})
    account.save()
print("TOKENS=" + json.dumps(tokens))
"""
    return json.loads(labweb(env, "shell", "-c", script).split("TOKENS=", 1)[1])


def login_cookie(url: str, user: str, password: str) -> str:
    """The Cookie header of a logged-in browser (through the login form, as a person would)."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{url}/accounts/login/").read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "username": user, "password": password}).encode()
    opener.open(urllib.request.Request(f"{url}/accounts/login/", data=body, headers={"Referer": f"{url}/accounts/login/"}))
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "sessionid=" not in cookie:
        raise RuntimeError(f"could not log in to {url} as {user}")
    return cookie


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core of this machine spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Dashboards:
    """`processes` daphne processes sharing one database: SQLite + the in-memory layer (one process only) or, with
    `scale`, a fresh PostgreSQL database and Redis (dropped again by stop())."""

    def __init__(self, data_dir: Path, *, processes: int = 1, scale: bool = False, tick: float | None = None,
                 code: Path = REPO) -> None:
        if processes > 1 and not scale:
            raise ValueError("several processes only see each other's frames through Redis: use scale")
        self.count = processes
        self.env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}}
        # `code`: the source tree the dashboards run (another checkout gives a baseline in the same run).
        self.code = Path(code).resolve()
        self.env.update(LABWEB_DATA_DIR=str(data_dir), PYTHONPATH=str(self.code), LABWEB_LOG_LEVEL="WARNING")
        if tick is not None:
            self.env["LABWEB_RELAY_TICK_SECONDS"] = str(tick)
        self.database = None
        if scale:
            self.database = f"labweb_load_{uuid.uuid4().hex[:10]}"
            _postgres(f'CREATE DATABASE "{self.database}"')
            self.env.update(DATABASE_URL=f"{POSTGRES}/{self.database}", REDIS_URL=REDIS,
                            LABWEB_CHANNEL_PREFIX=f"load-{self.database}")
        self.log_dir = data_dir
        self.ports = [free_port() for _ in range(processes)]
        self.processes: list[subprocess.Popen] = []
        labweb(self.env, "migrate", "-v0")

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def start(self) -> None:
        for n, port in enumerate(self.ports):
            log = open(self.log_dir / f"daphne-{n}.log", "ab")  # noqa: SIM115 - closed with the process
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "labweb.asgi:application"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.code))
        for port in self.ports:
            wait_for_port(port)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.database:
            _postgres(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self.database = None


def _postgres(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(sql)
