"""Real processes for the fuzz tests: a dashboard (daphne) with its database, rig agents, logged-in browsers.

Each fuzz test sends its messages (a fixed count, at least 10,000) with a time cap that fails a hung run; the
seed is printed so a failure can be replayed (FUZZ_SEED=...).
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import re
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.processes import REPO, DashboardProcess, free_port, rig_config

pytestmark = pytest.mark.slow

MESSAGES = int(os.environ.get("FUZZ_MESSAGES", "10000"))
TIME_CAP_S = 120.0  # a hang guard, not a benchmark: each run takes well under a minute on two cores


@pytest.fixture
def rng() -> random.Random:
    seed = int(os.environ.get("FUZZ_SEED", random.SystemRandom().randrange(2**32)))
    print(f"FUZZ_SEED={seed}")
    return random.Random(seed)


@pytest.fixture
def dashboard(tmp_path):
    process = DashboardProcess(tmp_path / "dashboard")
    yield process
    process.stop()


def login_cookie(dashboard: DashboardProcess, username: str, password: str) -> str:
    """Log in through the real login form; the `Cookie` header value of the logged-in session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(dashboard.url + "/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    opener.open(urllib.request.Request(dashboard.url + "/accounts/login/", data=form.encode(),
                                       headers={"Referer": dashboard.url + "/accounts/login/"}), timeout=30)
    cookies = {c.name: c.value for c in jar}
    assert "sessionid" in cookies, "login failed"
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def add_user(dashboard: DashboardProcess, username: str, password: str, *, operator: bool) -> None:
    group = "Operators" if operator else "Viewers"
    dashboard.query(
        "from django.contrib.auth.models import Group, User\n"
        f"u = User.objects.create_user({username!r}, password={password!r})\n"
        f"u.groups.add(Group.objects.get(name={group!r}))\nresult = u.pk")


class Agent:
    """`labweb-rig run` as a rig PC runs it, with its outbox where a test can read it."""

    def __init__(self, tmp: Path, dashboard: DashboardProcess, name: str, echo: str) -> None:
        token = dashboard.add_rig(name)
        self.echo_port = free_port()
        self.echo = f"{echo}://127.0.0.1:{self.echo_port}"
        self.config = rig_config(tmp / f"{name}.yaml", name=name, port=dashboard.port, token=token, echo=self.echo,
                                 data={"local_subjects": str(tmp / f"{name}-data" / "Subjects")})
        self.outbox = tmp / f"{name}-state" / "events.sqlite3"
        self.log = tmp / f"{name}.log"
        self.process = subprocess.Popen([sys.executable, "-m", "rigs.cli", "run", "--config", str(self.config)],
                                        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                                        stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115

    def outbox_state(self) -> tuple[int, int, int]:
        """(events still pending, events quarantined, last seq) from the agent's own outbox on disk."""
        with sqlite3.connect(f"file:{self.outbox}?mode=ro", uri=True, timeout=10) as db:
            pending = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            quarantined = db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return pending, quarantined, row[0] if row else 0

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()
