"""Live relay under load: N rig agents sending status at 5 Hz, M browsers watching, one daphne process.

Prints, per rig count: how long a status takes from the agent to every browser (p50/p99), the share of statuses
that reached every browser, and the dashboard's CPU. The baseline measured in the same run is the floor: a
websocket round trip to the same daphne (snapshot request -> snapshot), idle.

    python benchmarks/relay_latency.py [--rigs 20 50 100 200] [--browsers 10] [--seconds 10] [--scale]

--scale runs the dashboard on PostgreSQL + Redis (127.0.0.1) instead of SQLite + the in-memory layer.
Everything is on loopback, bounded in time, and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from http.cookiejar import CookieJar
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import connect  # noqa: E402

from tests.processes import DashboardProcess  # noqa: E402

STATUS_HZ = 5.0
PASSWORD = "bench-password-1"


def login_cookie(url: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{url}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = f"csrfmiddlewaretoken={token}&username=bench&password={PASSWORD}".encode()
    opener.open(urllib.request.Request(f"{url}/accounts/login/", data=body, headers={"Referer": f"{url}/accounts/login/"}))
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def register(dashboard: DashboardProcess, count: int) -> dict[str, str]:
    script = (
        "from labweb.records import services\nfrom django.contrib.auth import get_user_model\n"
        f"get_user_model().objects.create_user('bench', password='{PASSWORD}')\n"
        f"result = {{f'bench-{{i:03d}}': services.rig_create(name=f'bench-{{i:03d}}')[1] for i in range({count})}}"
    )
    return dashboard.query(script)


class Browser:
    def __init__(self) -> None:
        self.latencies: dict[tuple[str, str], float] = {}
        self.gaps = 0

    async def watch(self, url: str, cookie: str, until: float) -> None:
        origin = url.replace("ws://", "http://")
        async with connect(f"{url}/ws/dashboard/", additional_headers={"Cookie": cookie, "Origin": origin},
                           max_size=2**24) as ws:
            last_seq = None
            while time.time() < until:
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=max(0.1, until - time.time()))
                except asyncio.TimeoutError:
                    break
                now = time.time()
                message = json.loads(text)
                if message["type"] == "frame":
                    if last_seq is not None and message["seq"] != last_seq + 1:
                        self.gaps += 1
                    last_seq = message["seq"]
                for rig in message.get("rigs", []):
                    stamp = rig.get("activity") or ""
                    key = (rig["rig"], stamp)
                    # First sight only: a rig going offline at the end re-sends its last (old) status.
                    if stamp.startswith("t=") and rig.get("online") and key not in self.latencies:
                        self.latencies[key] = now - float(stamp[2:])


async def agent(url: str, name: str, token: str, until: float, sent: list) -> None:
    async with connect(f"{url}/ws/agent/", additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"type": "hello", "rig": name, "kind": "video", "version": "bench"}))
        await ws.recv()  # welcome
        await asyncio.sleep(hash(name) % 200 / 1000)  # spread the rigs over the 200 ms period
        while time.time() < until:
            stamp = f"t={time.time():.6f}"
            await ws.send(json.dumps({"type": "status", "rig": name, "time": time.time(), "state": "spooling",
                                      "activity": stamp, "spool": {"active": True, "frames": len(sent), "fps": 30.0}}))
            sent.append((name, stamp))
            await asyncio.sleep(1 / STATUS_HZ)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def round_trip_floor(url: str, cookie: str, count: int = 50) -> float:
    origin = url.replace("ws://", "http://")
    times = []
    async with connect(f"{url}/ws/dashboard/", additional_headers={"Cookie": cookie, "Origin": origin},
                       max_size=2**24) as ws:
        await ws.recv()
        for _ in range(count):
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "snapshot"}))
            while json.loads(await ws.recv())["type"] != "snapshot":
                pass
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def watch_in_process(url: str, cookie: str, browsers: int, until: float):
    """The browsers run in a process of their own, so the agents' load does not slow their reading."""

    async def all_browsers():
        watchers = [Browser() for _ in range(browsers)]
        await asyncio.gather(*(w.watch(url, cookie, until) for w in watchers))
        return [(sorted(w.latencies.items()), w.gaps) for w in watchers]

    return asyncio.run(all_browsers())


async def run(url: str, tokens: dict[str, str], rigs: int, browsers: int, seconds: float, pid: int, cookie: str):
    until = time.time() + seconds + 1.5
    sent: list = []
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        watching = loop.run_in_executor(pool, watch_in_process, url, cookie, browsers, until)
        await asyncio.sleep(1.0)
        names = sorted(tokens)[:rigs]
        cpu_before, wall_before = cpu_seconds(pid), time.time()
        agents = [asyncio.ensure_future(agent(url, n, tokens[n], until - 1.0, sent)) for n in names]
        await asyncio.gather(*agents)
        cpu = (cpu_seconds(pid) - cpu_before) / (time.time() - wall_before)
        watched = await watching
    sent_set = set(sent)  # statuses of this round only (a reconnecting rig's first frame may carry an older one)
    latencies = sorted(x for seen, _ in watched for key, x in seen if tuple(key) in sent_set)
    delivered = statistics.mean(sum(tuple(k) in sent_set for k, _ in seen) / max(1, len(sent)) for seen, _ in watched)
    quantile = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")  # noqa: E731
    return {"rigs": rigs, "statuses/s": len(sent) / seconds, "p50 ms": quantile(0.5), "p99 ms": quantile(0.99),
            "delivered %": delivered * 100, "gaps": sum(g for _, g in watched), "daphne cores": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rigs", type=int, nargs="+", default=[20, 50, 100, 200])
    parser.add_argument("--browsers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--scale", action="store_true", help="PostgreSQL + Redis instead of the embedded default")
    args = parser.parse_args()
    if args.scale:
        os.environ["LABWEB_TEST_SCALE"] = "1"
    with tempfile.TemporaryDirectory(prefix="labweb-relay-") as tmp:
        import tests.processes as processes

        processes.SCALE = args.scale
        dashboard = DashboardProcess(Path(tmp))
        try:
            tokens = register(dashboard, max(args.rigs))
            dashboard.start()
            url = f"ws://127.0.0.1:{dashboard.port}"
            cookie = login_cookie(dashboard.url)
            floor = asyncio.run(round_trip_floor(url, cookie))
            mode = "PostgreSQL + Redis" if args.scale else "SQLite + in-memory layer"
            print(f"one daphne process, {mode}; {args.browsers} browsers; agents at {STATUS_HZ:g} Hz; {args.seconds:g} s each")
            print(f"baseline: idle websocket round trip (snapshot request) median {floor * 1000:.1f} ms\n")
            header = ["rigs", "statuses/s", "p50 ms", "p99 ms", "delivered %", "gaps", "daphne cores"]
            print("  ".join(f"{h:>12}" for h in header))
            # Warm-up, not reported: the first round pays for imports, the ticker's start and cold caches.
            asyncio.run(run(url, tokens, min(args.rigs), args.browsers, 2.0, dashboard.process.pid, cookie))
            time.sleep(2)
            for rigs in args.rigs:
                row = asyncio.run(run(url, tokens, rigs, args.browsers, args.seconds, dashboard.process.pid, cookie))
                print("  ".join(f"{row[h]:>12.1f}" if isinstance(row[h], float) else f"{row[h]:>12}" for h in header))
                time.sleep(2)  # let the dashboard mark the last rigs offline before the next round
        finally:
            dashboard.stop()


if __name__ == "__main__":
    main()
