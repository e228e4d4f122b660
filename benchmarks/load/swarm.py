"""Load on the live relay: simulated rig agents sending status at an exact rate, browsers watching, figures out.

Agents run many to an asyncio process, one process per core, and send pre-encoded statuses (a real camera rig's
status, three values spliced into fixed text), so the harness costs less than the dashboard it measures. Browsers
run in a process of their own. Per run it prints: statuses sent of those asked, agent-to-browser latency
p50/p99/max, the share of statuses that reached every browser, frame gaps and snapshots, each dashboard
process's CPU (cores) and RSS, and the dashboard's CPU per relayed status (us), plus the harness's own CPU.
Before the runs it measures the idle floor: a websocket ping, a lone status to a browser, a snapshot request.

Dashboards it starts itself (SQLite + in-memory layer, or PostgreSQL + Redis with --scale; --processes N):

    python benchmarks/load/swarm.py --rigs 200 400 1000 --browsers 20 --seconds 10 [--scale] [--processes 2]

A baseline in the same session: the same command with `--code DIR`, DIR an export of the commit to compare with
(`git archive main | tar -x -C /tmp/labweb-main`); `--keep DIR` keeps the dashboards' logs.

A dashboard already running (a `labweb demo`, or several daphne processes behind nginx): register the simulated
rigs in its database first, with the same environment the dashboard runs with (LABWEB_DATA_DIR, DATABASE_URL).
A demo keeps its data in ./var unless LABWEB_DATA_DIR says otherwise:

    LABWEB_DATA_DIR=var python benchmarks/load/swarm.py register --rigs 200 --tokens tokens.json \
        [--user bench --password bench-pw-1]
    python benchmarks/load/swarm.py --rigs 200 --hz 5 --seconds 30 --url http://127.0.0.1:8000 \
        --tokens tokens.json --user admin --password PASSWORD [--browsers 0] [--pids 1234 1235]

`register` gives existing sim-NNN rigs fresh tokens, so it can be run again. With several --url, agents and
browsers are spread over them round-robin (one URL: nginx in front of several processes). --pids names the
daphne processes whose CPU and RSS to read; without it the dashboard's cost is not reported. --browsers 0 with
a real browser open on the demo is the way to measure the page's own frame time under 200 rigs.

As a library: `load_run(...)` returns the figures of one run as a dict; `idle_floor(...)` the idle round trips.
Everything is on loopback or where --url points, bounded in time, and stops by itself.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import orjson  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidHandshake  # noqa: E402

from benchmarks.load.servers import Dashboards, cpu_seconds, login_cookie, machine_busy_seconds, register, rss_bytes  # noqa: E402

PASSWORD = "bench-password-1"
CONNECT_AT_ONCE = 10  # agents connecting at the same time, per process: daphne drops a handshake not accepted in 5 s
CONNECT_TRIES = 5


# -- the agents ------------------------------------------------------------------------------------------------------
def status_template(rig: str) -> tuple[str, str, str]:
    """A camera rig's status as the agent sends it, cut around the two values that change: its time (the stamp the
    browsers time it by) and its spool's frame count (the status' number, 1, 2, ...). Joined with the values, the
    pieces are valid, schema-checked JSON; the dashboard relays both to the browsers."""
    spool = {"state": "running", "file": f"D:/data/{rig}/2026-12-06_series.h5", "compression": "blosc-lz4",
             "frames": "@F@", "frames_captured": 0, "frames_flushed": 0, "dropped": 0, "max_frames": None,
             "fps": 30.0, "fps_in": 30.0, "mb_s_in": 62.9, "mb_s_disk": 21.4, "ratio": 2.94, "queue_fill": 0.02,
             "queue_bytes": 4194304, "disk_free": 812345678901, "seconds_to_full": 37950.0, "elapsed_s": 12.0,
             "reason": None, "error": None, "active": True}
    session = {"state": "idle", "exp_ref": None, "main": False, "main_exp_ref": None, "echo": "udp://0.0.0.0:11001",
               "main_sync": False, "echo_refused": None, "active": False}
    status = {"type": "status", "rig": rig, "time": "@T@", "state": "spooling",
              "disk": {"path": "D:/data", "total": 2000398934016, "free": 812345678901}, "quarantined": 0,
              "spool": spool, "session": session, "transfer": None}
    text = json.dumps(status, separators=(",", ":"))
    head, rest = text.split('"@T@"')
    middle, tail = rest.split('"@F@"')
    return head, middle, tail


@dataclass
class AgentReport:
    sent: dict[str, int] = field(default_factory=dict)  # rig -> statuses sent (their stamps are 1..n)
    asked: int = 0
    closed: dict[str, int] = field(default_factory=dict)  # close code -> agents the dashboard closed
    failed_to_connect: int = 0
    cpu: float = 0.0  # this process's CPU seconds while sending
    late_ms: float = 0.0  # how far the sender fell behind its schedule at worst


async def _retrying(connecting, tries: int = CONNECT_TRIES):
    """A connection, tried again (a dashboard busy with a thousand handshakes drops some, as a real one would)."""
    for attempt in range(tries):
        try:
            return await connecting()
        except (TimeoutError, OSError, InvalidHandshake, ConnectionClosed):
            if attempt == tries - 1:
                raise
            await asyncio.sleep(1.0 + attempt)


async def _agent_connect(url: str, name: str, token: str):
    return await _retrying(lambda: _agent_connect_once(url, name, token))


async def _agent_connect_once(url: str, name: str, token: str):
    ws = await connect(f"{_ws(url)}/ws/agent/", additional_headers={"Authorization": f"Bearer {token}"},
                       open_timeout=60, ping_interval=None)
    await ws.send(json.dumps({"type": "hello", "rig": name, "kind": "video", "version": "swarm",
                              "capabilities": ["spool.start", "spool.stop", "preview.request"],
                              "disk": {"path": "D:/data", "total": 2000398934016, "free": 812345678901}}))
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 60))
    if welcome.get("type") != "welcome":
        raise RuntimeError(f"{name}: expected welcome, got {welcome}")
    return ws


async def _drain(ws) -> None:
    """Read (and forget) what the dashboard sends an agent, so its socket never stalls on a full queue."""
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass


async def _agents(rigs: list[tuple[str, str, str]], hz: float, seconds: float, ready, start_at, drain: float) -> AgentReport:
    report = AgentReport()
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    def closed(exc: ConnectionClosed) -> None:
        code = str(exc.rcvd.code if exc.rcvd else "none")
        report.closed[code] = report.closed.get(code, 0) + 1

    async def heartbeat(ws, head, middle, tail):
        """Alive until the run starts, as a real agent is (frames 0: the browsers do not time these)."""
        try:
            while start_at.value == 0.0 or time.time() < start_at.value - 1.0:
                await ws.send(f"{head}{time.time():.6f}{middle}0{tail}")
                await asyncio.sleep(1.0)
        except ConnectionClosed:
            pass

    async def one(url, name, token):
        async with gate:
            ws = await _agent_connect(url, name, token)
        template = status_template(name)
        return ws, template, asyncio.ensure_future(heartbeat(ws, *template)), asyncio.ensure_future(_drain(ws))

    results = await asyncio.gather(*(one(*rig) for rig in rigs), return_exceptions=True)
    links, tasks = [], []
    for (_, name, _), result in zip(rigs, results, strict=True):
        if isinstance(result, BaseException):
            report.failed_to_connect += 1
            print(f"swarm: {name} could not connect: {result!r}", file=sys.stderr)
        else:
            ws, template, *more = result
            links.append((name, ws, template))
            tasks.extend(more)
    ready.put(len(links))
    while start_at.value == 0.0 or time.time() < start_at.value:
        await asyncio.sleep(0.01)
    t0 = start_at.value
    report.sent = {name: 0 for name, _, _ in links}
    rate = hz * len(links)
    total = int(rate * seconds)
    report.asked = total
    dead: set[str] = set()
    cpu0 = time.process_time()
    k = 0
    while k < total:
        now = time.time()
        report.late_ms = max(report.late_ms, (now - (t0 + k / rate)) * 1000)
        while k < total and t0 + k / rate <= now:
            name, ws, (head, middle, tail) = links[k % len(links)]
            k += 1
            if name in dead:
                continue
            n = report.sent[name] + 1
            stamp = time.time()
            try:
                await ws.send(f"{head}{stamp:.6f}{middle}{n}{tail}")
            except ConnectionClosed as exc:
                dead.add(name)
                closed(exc)
                continue
            report.sent[name] = n
        if k < total:
            await asyncio.sleep(max(0.0, t0 + k / rate - time.time()))
    report.cpu = time.process_time() - cpu0
    await asyncio.sleep(drain)  # the last statuses reach the browsers before their agents go offline
    await asyncio.gather(*(ws.close() for _, ws, _ in links), return_exceptions=True)
    for task in tasks:
        task.cancel()
    return report


def agents_process(rigs, hz, seconds, ready, start_at, drain, results) -> None:
    results.put(asdict(asyncio.run(_agents(rigs, hz, seconds, ready, start_at, drain))))


# -- the browsers ----------------------------------------------------------------------------------------------------
@dataclass
class BrowserReport:
    seen: int = 0  # statuses seen for the first time (each once)
    latencies: bytes = b""  # array('d') of seconds, one per status seen
    gaps: int = 0
    snapshots: int = 0
    frames: int = 0
    bytes: int = 0
    closed: str = ""


class Frames:
    """What the browsers of one harness process read of each message, parsed once per frame.

    Every browser receives the same frame text over its own socket; parsing each of the 20 copies (47 MB/s of JSON
    at 1000 rigs) cost the harness more than the dashboard spent relaying them. Here a frame is parsed by the
    first browser that reads it and looked up by the others by its origin and seq (read off its first bytes);
    each browser still receives every byte and keeps its own account of what it saw and when."""

    HEAD = re.compile(r'\{"type":"frame","origin":"([^"]*)","seq":(\d+),')
    KEEP = 512  # frames remembered: a few seconds of every process's ticks

    def __init__(self) -> None:
        self.parsed: dict[tuple[str, int], tuple] = {}
        self.order: deque[tuple[str, int]] = deque()

    def read(self, text: str) -> tuple[str, str, int, list[tuple[str, int, float]]]:
        """(type, origin, seq, [(rig, its spool's frame count, its status' time) for each spooling rig])."""
        head = self.HEAD.match(text)
        if head is None:  # a snapshot, an answer: each its own
            return self._parse(text)
        key = (head[1], int(head[2]))
        got = self.parsed.get(key)
        if got is None:
            got = self.parsed[key] = self._parse(text)
            self.order.append(key)
            if len(self.order) > self.KEEP:
                self.parsed.pop(self.order.popleft(), None)
        return got

    @staticmethod
    def _parse(text: str) -> tuple[str, str, int, list[tuple[str, int, float]]]:
        message = orjson.loads(text)
        statuses = []
        for rig in message.get("rigs", ()):
            spool = rig.get("spool")
            if spool and "time" in rig:
                statuses.append((rig["rig"], spool.get("frames") or 0, rig["time"]))
        return message.get("type", ""), message.get("origin", ""), message.get("seq", 0), statuses


async def _browser(url: str, cookie: str, ready, start_at, until_after: float, frames: Frames) -> BrowserReport:
    report = BrowserReport()
    latencies = array.array("d")
    last_stamp: dict[str, int] = {}
    last_seq: dict[str, int] = {}
    origin = url.rstrip("/")
    try:
        ws = await _retrying(lambda: connect(f"{_ws(url)}/ws/dashboard/", max_size=2**26, max_queue=None,
                                             additional_headers={"Cookie": cookie, "Origin": origin}, open_timeout=60))
        async with ws:
            ready.put(1)
            while start_at.value == 0.0:
                try:  # the snapshot and frames before the start are read and forgotten
                    await asyncio.wait_for(ws.recv(), 0.05)
                except TimeoutError:
                    pass
            until = start_at.value + until_after
            while True:
                left = until - time.time()
                if left <= 0:
                    break
                try:
                    text = await asyncio.wait_for(ws.recv(), left)
                except TimeoutError:
                    break
                now = time.time()
                report.bytes += len(text)
                kind, sender, seq, statuses = frames.read(text)
                if kind == "snapshot":
                    report.snapshots += 1
                    last_seq[sender] = seq
                    continue
                if kind != "frame":
                    continue
                report.frames += 1
                previous = last_seq.get(sender)
                if previous is not None and seq <= previous:
                    continue  # sent before the snapshot that came first: already in it
                if previous is not None and seq != previous + 1:
                    report.gaps += 1
                    await ws.send('{"type":"snapshot"}')  # as live.js does
                last_seq[sender] = seq
                for rig, n, stamp in statuses:
                    if n > last_stamp.get(rig, 0):  # first sight only
                        last_stamp[rig] = n
                        report.seen += 1
                        latencies.append(now - stamp)
    except ConnectionClosed as exc:
        report.closed = str(exc)
    report.latencies = latencies.tobytes()
    return report


def browsers_process(urls, cookie, count, ready, start_at, seconds, drain, results) -> None:
    cpu = {}

    async def sending_window_cpu():
        """This process's CPU over the agents' sending window, as the dashboard's is measured."""
        while start_at.value == 0.0 or time.time() < start_at.value:
            await asyncio.sleep(0.01)
        cpu["start"] = time.process_time()
        await asyncio.sleep(max(0.0, start_at.value + seconds - time.time()))
        cpu["end"] = time.process_time()

    async def all_of_them():
        window = asyncio.ensure_future(sending_window_cpu())
        frames = Frames()
        reports = await asyncio.gather(*(_browser(urls[i % len(urls)], cookie, ready, start_at, seconds + drain, frames)
                                         for i in range(count)))
        await window
        return reports

    reports = asyncio.run(all_of_them())
    results.put({"browsers": [asdict(r) for r in reports], "cpu": cpu["end"] - cpu["start"]})


# -- one run ---------------------------------------------------------------------------------------------------------
def load_run(*, urls: list[str], tokens: dict[str, str], cookie: str, rigs: int, hz: float = 5.0, browsers: int = 20,
             seconds: float = 10.0, pids: list[int] = (), agent_processes: int | None = None,
             drain: float = 1.0) -> dict:
    """One run: `rigs` agents (the first of `tokens`) at `hz` for `seconds`, `browsers` watching; the figures."""
    ctx = multiprocessing.get_context("spawn")
    names = sorted(tokens)[:rigs]
    if len(names) < rigs:
        raise ValueError(f"{rigs} rigs asked but only {len(names)} tokens given")
    procs = max(1, min(agent_processes or os.cpu_count() or 1, len(names)))
    ready, results = ctx.Queue(), ctx.Queue()
    start_at = ctx.Value("d", 0.0)
    workers = []
    if browsers:  # first: their handshakes are not queued behind a thousand agents'
        workers.append(ctx.Process(target=browsers_process,
                                   args=(urls, cookie, browsers, ready, start_at, seconds, drain, results)))
    for p in range(procs):
        share = [(urls[i % len(urls)], name, tokens[name]) for i, name in enumerate(names) if i % procs == p]
        workers.append(ctx.Process(target=agents_process, args=(share, hz, seconds, ready, start_at, drain, results)))
    for n, worker in enumerate(workers):
        worker.daemon = True  # they go with the harness, whatever stops it
        worker.start()
        if n == 0 and browsers:
            for _ in range(browsers):
                _get(ready, workers, 300)
    for _ in range(procs):
        _get(ready, workers, 600)
    time.sleep(1.0)  # the hellos settle (their frames are not timed)
    start_at.value = t0 = time.time() + 0.5
    print(f"swarm: {rigs} agents and {browsers} browsers connected; sending for {seconds:g} s", file=sys.stderr,
          flush=True)
    # The dashboard's CPU over the sending window only: not the connects before it, nor the disconnects after.
    time.sleep(max(0.0, t0 - time.time()))
    cpu_before = {pid: cpu_seconds(pid) for pid in pids}
    machine_before = machine_busy_seconds()
    time.sleep(max(0.0, t0 + seconds - time.time()))
    cpu = {pid: (cpu_seconds(pid) - cpu_before[pid]) / seconds for pid in pids}
    machine = (machine_busy_seconds() - machine_before) / seconds
    rss = {pid: rss_bytes(pid) for pid in pids}
    reports = [_get(results, workers, drain + 600) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    agents = [r for r in reports if "sent" in r]
    watched = next((r for r in reports if "browsers" in r), {"browsers": [], "cpu": 0.0})
    sent = sum(sum(a["sent"].values()) for a in agents)
    asked = sum(a["asked"] for a in agents)
    latencies = sorted(x for b in watched["browsers"] for x in array.array("d", b["latencies"]))

    def quantile(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    shares = [b["seen"] / sent if sent else 0.0 for b in watched["browsers"]]
    closed: dict[str, int] = {}
    for a in agents:
        for code, n in a["closed"].items():
            closed[code] = closed.get(code, 0) + n
    dashboard_cores = sum(cpu.values()) if pids else float("nan")
    return {
        "rigs": rigs, "browsers": browsers, "hz": hz, "seconds": seconds,
        "sent/s": sent / seconds, "asked/s": asked / seconds, "sent %": 100.0 * sent / asked if asked else 0.0,
        "p50 ms": quantile(0.5), "p99 ms": quantile(0.99), "max ms": latencies[-1] * 1000 if latencies else float("nan"),
        "delivered %": 100.0 * statistics.mean(shares) if shares else float("nan"),
        "worst browser %": 100.0 * min(shares) if shares else float("nan"),
        "gaps": sum(b["gaps"] for b in watched["browsers"]),
        "snapshots": sum(b["snapshots"] for b in watched["browsers"]),
        "browser MB/s": sum(b["bytes"] for b in watched["browsers"]) / 1e6 / (seconds + drain),
        "dashboard cores": dashboard_cores,
        "per process cores": [round(cpu[pid], 3) for pid in pids],
        "dashboard RSS MB": sum(rss.values()) / 1e6 if pids else float("nan"),
        "us/status": dashboard_cores * 1e6 / (sent / seconds) if pids and sent else float("nan"),
        "harness cores": (sum(a["cpu"] for a in agents) + watched["cpu"]) / seconds,
        "agents cores": sum(a["cpu"] for a in agents) / seconds,
        "browsers cores": watched["cpu"] / seconds,
        # Everything on the machine, the dashboard and harness included: near the core count, all were starved.
        "machine cores": machine,
        "agent late ms": max((a["late_ms"] for a in agents), default=0.0),
        "closed": closed, "failed to connect": sum(a["failed_to_connect"] for a in agents),
        "browser closed": [b["closed"] for b in watched["browsers"] if b["closed"]],
    }


def _get(queue, workers, timeout: float):
    """The next item of `queue`; an error as soon as a worker died without giving one."""
    import queue as queues

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return queue.get(timeout=1.0)
        except queues.Empty:
            dead = [w for w in workers if w.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a harness process died (exit code {dead[0].exitcode}); see its traceback above") from None
    raise TimeoutError("the harness processes did not answer in time")


# -- the idle floor --------------------------------------------------------------------------------------------------
async def idle_floor(url: str, token_item: tuple[str, str], cookie: str, count: int = 30) -> dict:
    """With nothing else going on: a websocket ping's round trip, one status from an agent to a browser, and a
    snapshot request's round trip (medians, ms)."""
    name, token = token_item
    origin = url.rstrip("/")
    pings, lone, snaps = [], [], []
    async with connect(f"{_ws(url)}/ws/dashboard/", additional_headers={"Cookie": cookie, "Origin": origin},
                       max_size=2**26) as browser:
        await browser.recv()  # the snapshot
        agent = await _agent_connect(url, name, token)
        head, middle, tail = status_template(name)
        await asyncio.sleep(0.5)
        for n in range(1, count + 1):
            started = time.perf_counter()
            await (await browser.ping())
            pings.append(time.perf_counter() - started)
            stamp = time.time()
            await agent.send(f"{head}{stamp:.6f}{middle}{n}{tail}")
            while True:
                message = json.loads(await asyncio.wait_for(browser.recv(), 10))
                if any((r.get("spool") or {}).get("frames") == n for r in message.get("rigs", ())):
                    lone.append(time.time() - stamp)
                    break
            await asyncio.sleep(0.2)  # idle again: the ticker has nothing left to send
            started = time.perf_counter()
            await browser.send('{"type":"snapshot"}')
            while json.loads(await browser.recv())["type"] != "snapshot":
                pass
            snaps.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)
        await agent.close()
    return {"ping ms": statistics.median(pings) * 1000, "lone status ms": statistics.median(lone) * 1000,
            "snapshot ms": statistics.median(snaps) * 1000}


def _ws(url: str) -> str:
    return url.rstrip("/").replace("https://", "wss://").replace("http://", "ws://")


# -- the command line ------------------------------------------------------------------------------------------------
COLUMNS = ["rigs", "sent/s", "sent %", "p50 ms", "p99 ms", "max ms", "delivered %", "worst browser %", "gaps",
           "dashboard cores", "dashboard RSS MB", "us/status", "harness cores", "machine cores", "browser MB/s"]


def print_row(row: dict) -> None:
    cells = [f"{row[c]:>10.1f}" if isinstance(row[c], float) else f"{row[c]:>10}" for c in COLUMNS]
    print("".join(cells), flush=True)
    extra = {k: row[k] for k in ("closed", "failed to connect", "browser closed", "per process cores", "agent late ms")
             if row[k]}
    if extra:
        print(f"{'':>10}{extra}", flush=True)


def print_header() -> None:
    print("".join(f"{c[:10]:>10}" for c in COLUMNS), flush=True)


def reference_ms() -> float:
    """The machine's speed now: the best of five timings of a fixed piece of Python work (the standard library's
    JSON of a frame of 250 camera statuses, there and back). This machine's speed drifts by a third and more
    within an hour (a shared host), so figures of runs made apart compare only through this, or not at all."""
    head, middle, tail = status_template("sim-000")
    frame = {"type": "frame", "rigs": [json.loads(f"{head}{1.0e9 + n:.6f}{middle}{n}{tail}") for n in range(250)]}
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        json.loads(json.dumps(frame))
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main(argv: list[str] | None = None) -> None:
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the dashboards started here are stopped too
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["register"]:
        parser = argparse.ArgumentParser(prog="swarm.py register", description="register simulated rigs")
        parser.add_argument("--rigs", type=int, required=True)
        parser.add_argument("--tokens", type=Path, required=True, help="write {rig: token} here (JSON)")
        parser.add_argument("--prefix", default="sim-")
        parser.add_argument("--user", help="also create (or reset) this user")
        parser.add_argument("--password")
        args = parser.parse_args(argv[1:])
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        tokens = register(env, rigs=args.rigs, prefix=args.prefix, user=args.user, password=args.password)
        args.tokens.write_text(json.dumps(tokens, indent=1))
        print(f"{len(tokens)} rigs registered; tokens in {args.tokens}")
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rigs", type=int, nargs="+", default=[200])
    parser.add_argument("--browsers", type=int, default=20)
    parser.add_argument("--hz", type=float, default=5.0, help="statuses per second per rig")
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument("--scale", action="store_true", help="PostgreSQL + Redis instead of the embedded default")
    parser.add_argument("--processes", type=int, default=1, help="daphne processes to start (needs --scale past 1)")
    parser.add_argument("--tick", type=float, help="LABWEB_RELAY_TICK_SECONDS for the dashboards started here")
    parser.add_argument("--agent-processes", type=int, help="default: one per core")
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[2],
                        help="the labweb source tree the dashboards run (e.g. an export of main, for a baseline)")
    parser.add_argument("--url", nargs="+", help="drive dashboards already running instead (needs --tokens)")
    parser.add_argument("--tokens", type=Path, help="{rig: token} JSON, from `swarm.py register`")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default=os.environ.get("LABWEB_DEMO_PASSWORD"))
    parser.add_argument("--pids", type=int, nargs="*", default=[], help="the dashboard processes to measure")
    parser.add_argument("--no-floor", action="store_true", help="skip the idle round trips")
    parser.add_argument("--no-warmup", action="store_true", help="skip the short unreported run before the others")
    parser.add_argument("--json", type=Path, help="also write every row here")
    parser.add_argument("--keep", type=Path, help="the dashboards' data and daphne logs go here (kept)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="labweb-load-") as tmp:
        if args.keep:
            tmp = str(args.keep)
            args.keep.mkdir(parents=True, exist_ok=True)
        dashboards = None
        try:
            if args.url:
                if not args.tokens:
                    parser.error("--url needs --tokens (see `swarm.py register`)")
                urls, pids = args.url, args.pids
                tokens = json.loads(args.tokens.read_text())
                cookie = login_cookie(urls[0], args.user, args.password) if args.browsers or not args.no_floor else ""
                where = ", ".join(urls)
            else:
                dashboards = Dashboards(Path(tmp), processes=args.processes, scale=args.scale, tick=args.tick,
                                        code=args.code)
                tokens = register(dashboards.env, rigs=max(args.rigs) + 1, user="bench", password=PASSWORD)
                dashboards.start()
                urls, pids = dashboards.urls, dashboards.pids
                cookie = login_cookie(urls[0], "bench", PASSWORD)
                mode = "PostgreSQL + Redis" if args.scale else "SQLite + in-memory layer"
                where = f"{args.processes} daphne process(es), {mode}, code from {args.code}"
            print(f"{where}; {args.browsers} browsers; agents at {args.hz:g} Hz; {args.seconds:g} s per run; "
                  f"{os.cpu_count()} cores shared by dashboard and harness", flush=True)
            reference = reference_ms()
            print(f"reference work (reference_ms): {reference:.2f} ms", flush=True)
            rows.append({"reference ms": reference})
            names = sorted(tokens)
            spare = (names[-1], tokens[names[-1]])  # the floor's agent is not one of the runs' rigs
            if not args.no_floor:
                floor = asyncio.run(idle_floor(urls[0], spare, cookie))
                print("idle floor (medians): " + ", ".join(f"{k} {v:.2f}" for k, v in floor.items()), flush=True)
                rows.append({"floor": floor})
            runs = {n: tokens[n] for n in names[:-1]} if not args.url else tokens
            print_header()
            # Warm-up, not reported: the first run pays for imports, the ticker's start and cold caches.
            if not args.no_warmup:
                load_run(urls=urls, tokens=runs, cookie=cookie, rigs=min(args.rigs), hz=args.hz,
                         browsers=min(args.browsers, 2), seconds=2.0, pids=pids, agent_processes=args.agent_processes)
                time.sleep(2)
            for rigs in args.rigs:
                row = load_run(urls=urls, tokens=runs, cookie=cookie, rigs=rigs, hz=args.hz, browsers=args.browsers,
                               seconds=args.seconds, pids=pids, agent_processes=args.agent_processes)
                print_row(row)
                rows.append(row)
                time.sleep(2)  # the dashboard marks the last rigs offline before the next run
            reference = reference_ms()
            print(f"reference work at the end: {reference:.2f} ms", flush=True)
            rows.append({"reference ms, end": reference})
        finally:
            if dashboards is not None:
                dashboards.stop()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
