"""The deployment of deploy/, run as a lab would run it, on loopback: Debian's nginx (unprivileged, from a temporary
prefix, with deploy/nginx/labweb.conf itself) in front of two daphne processes sharing one fresh PostgreSQL
database and Redis, four real rig agents and six browsers (websocket clients with a login cookie) connected
through nginx and spread over both processes.

It shows, in order: static files come from nginx; every browser sees every rig live whichever process holds it;
a command a browser sends through process A reaches a rig on process B and the reply comes back; a session
started on A and stopped on B ends; the offline sweep and the alert checks have one owner, and each process's
ticker publishes only its own rigs under its own origin; then kill -9 of the process that owns the sweep: its
agents come back through nginx to the other within seconds, no rig is shown offline meanwhile, its browsers
resynchronise from a snapshot, the sweep and the alert checks move to the survivor, and every durable event
each agent emitted is stored exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
import websockets
import yaml

from tests.processes import REPO, free_port, wait_for_port

pytestmark = [pytest.mark.scale, pytest.mark.slow, pytest.mark.timeout(180)]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
RIGS = ("rig-1", "rig-2", "rig-3", "rig-4")
BROWSERS = 6
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "deploy-test-pw"
SILENCE = 6.0  # LABWEB_RIG_SILENCE_SECONDS: a rig silent this long would be shown offline


# -- the processes ------------------------------------------------------------------------------------------------
@dataclass
class Daphne:
    name: str
    port: int
    process: subprocess.Popen
    log: Path
    origin: str = ""  # the process's board origin, as frames carry it


@dataclass
class Site:
    root: Path
    env: dict[str, str]
    database: str
    nginx_port: int
    daphnes: list[Daphne] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    agents: dict[str, subprocess.Popen] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    api_token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    def sql(self, query: str, *args) -> list[tuple]:
        with psycopg.connect(f"{POSTGRES}/{self.database}", autocommit=True) as connection:
            return connection.execute(query, args).fetchall()

    def labweb(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "labweb.cli", *args], env=self.env, cwd=REPO,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout


def _postgres(sql: str) -> None:
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(sql)


SETUP = """
import json
from django.contrib.auth.models import Group, User
from labweb.api.services import api_token_create
from labweb.fleet.roles import OPERATORS
from labweb.fleet.services import rig_create
from labweb.records.services import subject_create
tokens = {}
for name, port in json.loads(RIGS).items():
    tokens[name] = rig_create(name=name, kind="behavior", echo_uri=f"udp://127.0.0.1:{port}")[1]
olga = User.objects.create_user("olga", password=PASSWORD)
olga.groups.add(Group.objects.get(name=OPERATORS))
subject_create(name="KS051")
print("RESULT=" + json.dumps({"tokens": tokens, "api": api_token_create(user=olga, name="test")[1]}))
"""


def nginx_config(site: Site) -> Path:
    """deploy/nginx/labweb.conf with this run's ports and paths, inside a main file for an unprivileged nginx."""
    text = (REPO / "deploy" / "nginx" / "labweb.conf").read_text()
    first, second = (d.port for d in site.daphnes)
    for old, new in (("server 127.0.0.1:8001 ", f"server 127.0.0.1:{first} "),
                     ("server 127.0.0.1:8002 ", f"server 127.0.0.1:{second} "),
                     ("    listen 80;\n", f"    listen 127.0.0.1:{site.nginx_port};\n"),
                     ("    listen [::]:80;\n", ""),
                     ("alias /var/lib/labweb/static/;", f"alias {site.root / 'data' / 'static'}/;")):
        assert old in text, f"deploy/nginx/labweb.conf no longer has {old!r}: update this test with it"
        text = text.replace(old, new)
    prefix = site.root / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    (prefix / "labweb.conf").write_text(text)
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would drop to nobody (no access to tmp)
    main = prefix / "nginx.conf"
    main.write_text(f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/labweb.conf;
}}
""")
    return main


def start_daphne(site: Site, name: str) -> Daphne:
    port = free_port()
    log = site.root / f"daphne-{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "--proxy-headers", "-b", "127.0.0.1", "-p", str(port), "labweb.asgi:application"],
        env=site.env, cwd=REPO, stdout=open(log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    return Daphne(name, port, process, log)


def start_agent(site: Site, name: str, echo_port: int) -> subprocess.Popen:
    root = site.root / "rigs" / name
    (root / "local").mkdir(parents=True)
    (root / "server").mkdir(parents=True)
    config = root / "rig.yaml"
    config.write_text(yaml.safe_dump({
        "name": name, "kind": "behavior", "dashboard": f"ws://127.0.0.1:{site.nginx_port}", "token": site.tokens[name],
        "echo": f"udp://127.0.0.1:{echo_port}", "main_sync": True, "state_dir": str(root / "state"),
        "data": {"local_subjects": str(root / "local"), "remote_subjects": str(root / "server")},
    }))
    return subprocess.Popen([sys.executable, "-m", "tests.scale.ticking_agent", str(config), str(root / "STOP")],
                            cwd=REPO, env=site.env, stdout=subprocess.DEVNULL,
                            stderr=open(root / "agent.log", "ab"))  # noqa: SIM115


@pytest.fixture
def site(tmp_path):
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (Debian package nginx; .ci/run installs it)")
    database = f"labweb_deploy_{uuid.uuid4().hex[:10]}"
    _postgres(f'CREATE DATABASE "{database}"')
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env.update(
        PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", LABWEB_DATA_DIR=str(tmp_path / "data"), LABWEB_LOG_LEVEL="INFO",
        DATABASE_URL=f"{POSTGRES}/{database}", REDIS_URL="redis://127.0.0.1:6379/14",
        LABWEB_CHANNEL_PREFIX=f"labweb-{database}",  # the two processes share it; other runs do not
        LABWEB_SECRET_KEY=f"deploy-test-{uuid.uuid4().hex}", LABWEB_RIG_SILENCE_SECONDS=str(SILENCE),
        LABWEB_ALERT_CHECK_SECONDS="1",
    )
    site = Site(root=tmp_path, env=env, database=database, nginx_port=free_port())
    try:
        site.labweb("migrate", "-v0")
        site.labweb("collectstatic", "--noinput", "-v0")
        echo_ports = {name: free_port() for name in RIGS}
        out = site.labweb("shell", "-c", SETUP.replace("RIGS", repr(json.dumps(echo_ports)))
                          .replace("PASSWORD", repr(PASSWORD)))
        made = json.loads(out.split("RESULT=", 1)[1])
        site.tokens, site.api_token = made["tokens"], made["api"]
        site.daphnes = [start_daphne(site, "A"), start_daphne(site, "B")]
        for daphne in site.daphnes:
            wait_for_port(daphne.port, timeout=60)
        conf = nginx_config(site)
        site.nginx = subprocess.Popen([NGINX, "-p", str(conf.parent), "-e", str(conf.parent / "error.log"),
                                       "-c", str(conf), "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=open(tmp_path / "nginx.out", "ab"))  # noqa: SIM115
        wait_for_port(site.nginx_port)
        site.agents = {name: start_agent(site, name, echo_ports[name]) for name in RIGS}
        yield site
    finally:
        if site.nginx is not None and site.nginx.poll() is None:
            site.nginx.terminate()  # its master stops its workers (a SIGKILL would leave them running)
            try:
                site.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                site.nginx.kill()
        for process in [*site.agents.values(), *(d.process for d in site.daphnes)]:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        _postgres(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# -- browsers ---------------------------------------------------------------------------------------------------
class Browser:
    """A logged-in dashboard page's socket, through nginx: applies the snapshot and frames as live.js does (seq per
    origin), reconnects when its process goes away, and keeps what it saw for the checks."""

    def __init__(self, url: str, cookie: str, index: int) -> None:
        self.url, self.cookie, self.index = url, cookie, index
        self.rigs: dict[str, dict] = {}
        self.on: list[str] = []  # the origin of each snapshot: the process(es) it has been connected to
        self.seqs: dict[str, list[int]] = {}  # frame seqs per origin
        self.senders: dict[str, set[str]] = {}  # rig -> origins whose frames carried an entry of it
        self.offline_since: dict[str, float] = {}
        self.offline_spells: list[tuple[str, float]] = []  # (rig, seconds shown offline) once it was back online
        self.commands: dict[str, tuple[str, dict]] = {}  # command id -> (origin of the frame, entry)
        self.entry_bytes: list[int] = []  # the size of each rig entry frames carried (docs/scaling.md)
        self.answers: dict[str, dict] = {}  # ref -> the dashboard's answer to a command this browser sent
        self.socket = None
        self.task: asyncio.Task | None = None
        self.snapshots = 0

    async def start(self) -> None:
        await self._connect()
        self.task = asyncio.ensure_future(self._run())

    async def _connect(self) -> None:
        ws_url = self.url.replace("http://", "ws://") + "/ws/dashboard/"
        self.socket = await websockets.connect(ws_url, origin=self.url, additional_headers={"Cookie": self.cookie},
                                               max_size=None)
        self._apply(json.loads(await self.socket.recv()))

    async def _run(self) -> None:
        while True:
            try:
                async for text in self.socket:
                    self._apply(json.loads(text))
            except websockets.ConnectionClosed:
                pass
            for _ in range(100):  # its process died: reconnect through nginx, as live.js does
                try:
                    await self._connect()
                    break
                except (OSError, websockets.InvalidHandshake):
                    await asyncio.sleep(0.2)

    def _apply(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "snapshot":
            self.snapshots += 1
            self.on.append(message["origin"])
            for entry in message["rigs"]:
                self._rig(entry, None)
        elif kind == "frame":
            self.seqs.setdefault(message["origin"], []).append(message["seq"])
            for entry in message["rigs"]:
                self._rig(entry, message["origin"])
                self.entry_bytes.append(len(json.dumps(entry, separators=(",", ":"))))
            for command in message["commands"]:
                # The issuing process's "sent" frame can arrive after the holding process's frame with the rig's
                # answer (two processes, two tickers): an answered command never goes back to "sent".
                known = self.commands.get(command["id"])
                if known is None or command["state"] != "sent" or known[1]["state"] == "sent":
                    self.commands[command["id"]] = (message["origin"], command)
        elif kind == "command":  # the answer to a command this browser sent: recorded (or refused, and why)
            self.answers[message["ref"]] = message

    def _rig(self, entry: dict, origin: str | None) -> None:
        name, now = entry["rig"], time.monotonic()
        if origin is not None:
            self.senders.setdefault(name, set()).add(origin)
        if not entry["online"]:
            self.offline_since.setdefault(name, now)
        elif name in self.offline_since:
            self.offline_spells.append((name, now - self.offline_since.pop(name)))
        self.rigs[name] = entry

    async def send(self, message: dict) -> None:
        await self.socket.send(json.dumps(message))

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.socket.close()


async def until(predicate, timeout: float, what: str) -> float:
    """Seconds it took for `predicate` to hold; fails after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def login(site: Site) -> str:
    """Log in through nginx with the login form (CSRF and all); the session cookie is valid on both processes."""
    with httpx.Client(base_url=site.url) as client:
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = client.post("/accounts/login/", data={"username": "olga", "password": PASSWORD,
                                                       "csrfmiddlewaretoken": token},
                             headers={"Referer": site.url + "/accounts/login/"})
        assert answer.status_code == 302, answer.text[:500]
        return f"sessionid={client.cookies['sessionid']}"


async def origin_of(daphne: Daphne, cookie: str) -> str:
    """The board origin of one process, asked directly (not through nginx)."""
    url = f"http://127.0.0.1:{daphne.port}"
    async with websockets.connect(url.replace("http", "ws") + "/ws/dashboard/", origin=url,
                                  additional_headers={"Cookie": cookie}) as socket:
        return json.loads(await socket.recv())["origin"]


def lease_holders(site: Site) -> dict[str, str]:
    return dict(site.sql("SELECT name, owner FROM alerts_lease WHERE expires_at > now()"))


def api(site: Site, daphne: Daphne) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{daphne.port}/api/v1",
                        headers={"Authorization": f"Bearer {site.api_token}"}, timeout=30)


# -- the test ---------------------------------------------------------------------------------------------------
async def test_two_dashboards_behind_nginx_relay_route_fail_over_and_lose_nothing(site):
    started = time.monotonic()
    the_static_files_come_from_nginx(site)
    cookie = login(site)
    a, b = site.daphnes
    a.origin, b.origin = await origin_of(a, cookie), await origin_of(b, cookie)
    by_origin = {a.origin: a, b.origin: b}
    browsers = [Browser(site.url, cookie, i) for i in range(BROWSERS)]
    for browser in browsers:
        await browser.start()

    # Every browser sees every rig live, whichever process holds its agent; both processes hold some of each.
    await until(lambda: all(len(br.rigs) == len(RIGS) and all(e["online"] and e.get("state") != "offline"
                                                               for e in br.rigs.values()) for br in browsers),
                60, "every browser to see every rig online")
    holder = await rigs_and_browsers_spread_over_both(browsers, by_origin)
    await until(lambda: all(br.rigs[r].get("last_event") for br in browsers for r in RIGS), 20,
                "every browser to see every rig's live events")

    await a_command_through_one_process_reaches_a_rig_on_the_other(browsers, holder, a, b)
    await a_session_started_on_one_process_is_stopped_on_the_other(site, holder)
    owners = await the_periodic_jobs_have_one_owner_each(site, browsers, holder)

    # kill -9 of the process that owns the sweep.
    victim = next(d for d in site.daphnes if owners["sweep"].endswith(d.origin))
    survivor = b if victim is a else a
    moved = [rig for rig, origin in holder.items() if origin == victim.origin]
    on_victim = [br for br in browsers if br.on[-1] == victim.origin]
    assert moved and on_victim
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    killed = time.monotonic()

    for browser in browsers:  # from here on, which process sends each rig's entries
        browser.senders = {}
    back = await until(lambda: all(survivor.origin in br.senders.get(r, ()) and br.rigs[r]["online"]
                                   for br in browsers for r in moved), 20,
                       "the killed process's rigs to be back, through nginx, on the survivor, in every browser")
    print(f"\nrigs back on the survivor {back:.1f} s after kill -9 (browsers resynchronised too)")
    assert back < 15
    assert all(br.on[-1] == survivor.origin and br.snapshots == 2 for br in on_victim)  # resynchronised from a snapshot
    for browser in browsers:  # no rig shown offline longer than its agent took to come back
        assert not browser.offline_since, f"browser {browser.index} still shows {browser.offline_since} offline"
        assert all(spell <= back + 1 for _, spell in browser.offline_spells), browser.offline_spells

    # The survivor takes over the sweep and the alert checks once the killed owner's leases expire.
    await until(lambda: len(lease_holders(site)) == 2 and all(survivor_owns(site, survivor, owner)
                                                               for owner in lease_holders(site).values()),
                20, "the survivor to own the sweep and the alert checks")
    took_over = time.monotonic() - killed
    print(f"leases on the survivor {took_over:.1f} s after kill -9")

    await every_durable_event_is_stored_exactly_once(site)
    for browser in browsers:
        await browser.close()
    sizes = [n for br in browsers for n in br.entry_bytes]
    print(f"a rig entry in a frame: {sum(sizes) / len(sizes):.0f} bytes of JSON on average ({len(sizes)} seen)")
    print(f"the whole deployment test: {time.monotonic() - started:.0f} s")


def survivor_owns(site: Site, daphne: Daphne, owner: str) -> bool:
    # Lease owners are host:pid:random (labweb.alerts.jobs, labweb.live.board).
    return f":{daphne.process.pid}:" in owner


def the_static_files_come_from_nginx(site: Site) -> None:
    answer = httpx.get(site.url + "/static/labweb/labweb.css")
    assert answer.status_code == 200
    assert answer.headers["server"].startswith("nginx") and "max-age=3600" in answer.headers["cache-control"]
    assert answer.content == (REPO / "frontend" / "static" / "labweb" / "labweb.css").read_bytes()


async def rigs_and_browsers_spread_over_both(browsers: list[Browser], by_origin: dict) -> dict[str, str]:
    """Which process holds each rig (the origin of the frames that carry it); nginx spread both over both."""
    await until(lambda: all(len(br.senders.get(r, ())) >= 1 for br in browsers for r in RIGS), 10,
                "frames of every rig")
    holder = {}
    for rig in RIGS:
        senders = {origin for br in browsers for origin in br.senders[rig]}
        assert len(senders) == 1, f"{rig}'s entries came from {senders}: two tickers fight over it"
        holder[rig] = senders.pop()
    assert set(holder.values()) == set(by_origin), f"nginx put every agent on one process: {holder}"
    assert {br.on[0] for br in browsers} == set(by_origin), "nginx put every browser on one process"
    return holder


async def a_command_through_one_process_reaches_a_rig_on_the_other(browsers, holder, a, b) -> None:
    for sender_process, rig_process in ((a, b), (b, a)):
        browser = next(br for br in browsers if br.on[-1] == sender_process.origin)
        rig = next(r for r, origin in holder.items() if origin == rig_process.origin)
        ref = uuid.uuid4().hex
        await browser.send({"type": "command", "ref": ref, "rig": rig, "action": "preview.request", "params": {}})
        # The lambdas below are awaited at once, inside their own iteration: they see this iteration's names.
        await until(lambda: ref in browser.answers, 10, "the dashboard to answer the command")  # noqa: B023
        assert browser.answers[ref]["error"] is None, browser.answers[ref]
        await until(lambda: any(origin == rig_process.origin and entry["rig"] == rig and entry["state"] != "sent"  # noqa: B023
                                for origin, entry in browser.commands.values()), 15,  # noqa: B023
                    f"the reply of {rig} (on the other process) to come back to the browser")
        # ... and to every other browser, on either process.
        answered = next(i for i, (o, e) in browser.commands.items() if e["rig"] == rig and e["state"] != "sent")
        await until(lambda: all(answered in br.commands for br in browsers), 5, "every browser to see the reply")  # noqa: B023


async def a_session_started_on_one_process_is_stopped_on_the_other(site: Site, holder: dict[str, str]) -> None:
    a, b = site.daphnes
    rig = next(r for r, origin in holder.items() if origin == b.origin)  # held by B, started through A
    with api(site, a) as on_a, api(site, b) as on_b:
        answer = on_a.post("/sessions/start/", json={"subject": "KS051", "rigs": [rig], "main": rig, "main_sync": rig})
        assert answer.status_code == 201, answer.text
        exp_ref = answer.json()["exp_ref"]

        async def state(client) -> str:
            return (await asyncio.to_thread(client.get, f"/sessions/{exp_ref}/")).json()["state"]

        deadline = time.monotonic() + 20
        while await state(on_b) != "running":
            assert time.monotonic() < deadline, "the session did not start"
            await asyncio.sleep(0.2)
        answer = on_b.post(f"/sessions/{exp_ref}/stop/")
        assert answer.status_code in (200, 202), answer.text
        deadline = time.monotonic() + 20
        while await state(on_a) != "stopped":
            assert time.monotonic() < deadline, "the session did not stop"
            await asyncio.sleep(0.2)


async def the_periodic_jobs_have_one_owner_each(site: Site, browsers, holder) -> dict[str, str]:
    await until(lambda: set(lease_holders(site)) == {"sweep", "alerts"}, 15, "both leases to be held")
    owners = lease_holders(site)
    a, b = site.daphnes
    assert any(owners["sweep"].endswith(d.origin) for d in (a, b))
    assert sum(survivor_owns(site, d, owners["alerts"]) for d in (a, b)) == 1
    for daphne in (a, b):  # the log line of a process taking the sweep: in one log only, once
        log = daphne.log.read_text()
        assert log.count("offline sweep: this process") == (1 if owners["sweep"].endswith(daphne.origin) else 0), log[-3000:]
    for browser in browsers:  # each process's ticker: one frame sequence per origin, never a frame twice or out of order
        for origin, seqs in browser.seqs.items():
            assert seqs == sorted(set(seqs)), f"frames of {origin} out of order or twice: {seqs[:50]}"
    return owners


async def every_durable_event_is_stored_exactly_once(site: Site) -> None:
    for name in RIGS:
        (site.root / "rigs" / name / "STOP").touch()
    for name, agent in site.agents.items():
        await asyncio.to_thread(agent.wait, 60)
        assert agent.returncode == 0, (site.root / "rigs" / name / "agent.log").read_text()[-3000:]
    for name in RIGS:
        emitted = int((site.root / "rigs" / name / "STOP.done").read_text())
        rows = site.sql("SELECT e.seq, (e.data->>'n')::int FROM records_rigevent e JOIN records_rig r ON r.id = e.rig_id "
                        "WHERE r.name = %s AND e.name = 'test.tick' ORDER BY e.seq", name)
        numbers = [n for _, n in rows]
        assert numbers == list(range(1, emitted + 1)), f"{name}: {len(numbers)} stored of {emitted} emitted"
        print(f"{name}: {emitted} events emitted, each stored once")
    duplicates = site.sql("SELECT rig_id, seq FROM records_rigevent GROUP BY rig_id, seq HAVING count(*) > 1")
    assert duplicates == []


def test_the_tls_lines_filled_in_make_a_configuration_nginx_accepts(tmp_path):
    """deploy/nginx/labweb.conf with its TLS lines uncommented, as its comment says, and a certificate."""
    if not Path(NGINX).exists() or not shutil.which("openssl"):
        pytest.skip("needs nginx and openssl")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=dashboard.lab",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    lines, inside = [], False
    for line in (REPO / "deploy" / "nginx" / "labweb.conf").read_text().splitlines():
        if line.strip().startswith("# return 301"):
            inside = True
        elif line.strip().startswith("client_max_body_size"):
            inside = False
        lines.append(re.sub(r"^(\s*)# ?", r"\1", line, count=1) if inside else line)
    text = "\n".join(lines)
    assert text.count("server {") == 2 and "ssl_certificate " in text
    for old, new in (("/etc/ssl/labweb/fullchain.pem", str(tmp_path / "cert.pem")),
                     ("/etc/ssl/labweb/privkey.pem", str(tmp_path / "key.pem")),
                     ("listen 80;", f"listen 127.0.0.1:{free_port()};"), ("listen [::]:80;", ""),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{free_port()} ssl http2;"),
                     ("listen [::]:443 ssl http2;", "")):
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "labweb.conf").write_text(text)
    (tmp_path / "tmp").mkdir()
    temp = " ".join(f"{kind}_temp_path {tmp_path}/tmp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/nginx.pid; events {{}} http {{ include /etc/nginx/mime.types; "
                                         f"{temp} access_log off; include {tmp_path}/labweb.conf; }}")
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                             "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
