"""The websocket server's own cost per agent status, before labweb does anything with it.

The same simulated agents as swarm.py (a real camera rig's status, at an exact rate) talk to an ASGI application
that answers the hello and drops every status, served by daphne (Twisted + autobahn: what labweb runs on) and, when
it is installed, by uvicorn (websockets on uvloop: the usual other choice). Then, in the same run, to labweb's own
dashboard with no browser open. The difference is what labweb's relay costs on top of its server; the first figure
is the floor no change inside labweb can go under.

    python benchmarks/load/bare_server.py --rigs 1000 --seconds 10 [--runs 2] [--servers daphne uvicorn labweb]

Runs of the servers are taken in turn (this machine's speed drifts within minutes), and each row is one run.
Everything is on loopback, bounded in time, and stops by itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.load.servers import Dashboards, free_port, register, wait_for_port  # noqa: E402
from benchmarks.load.swarm import load_run, reference_ms  # noqa: E402

APPLICATION = "benchmarks.load.bare_server:application"

WELCOME = '{"type":"welcome","rig":"","last_seq":0}'


async def application(scope, receive, send):
    """An agent's websocket, answered as little as the agents need (a welcome to their hello), every status dropped."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    welcomed = False
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.disconnect":
            return
        elif not welcomed:
            welcomed = True
            await send({"type": "websocket.send", "text": WELCOME})


def bare_argv(server: str, port: int) -> list[str]:
    if server == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), APPLICATION]
    return [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
            "--ws", "websockets", "--http", "httptools", "--log-level", "warning", APPLICATION]


def bare_run(server: str, *, rigs: int, hz: float, seconds: float, log_dir: Path) -> dict:
    port = free_port()
    with open(log_dir / f"{server}.log", "ab") as log:
        process = subprocess.Popen(bare_argv(server, port), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        tokens = {f"sim-{n:04d}": "any" for n in range(rigs)}  # the bare application takes every agent
        return load_run(urls=[f"http://127.0.0.1:{port}"], tokens=tokens, cookie="", rigs=rigs, hz=hz, browsers=0,
                        seconds=seconds, pids=[process.pid])
    finally:
        process.terminate()
        process.wait(timeout=10)


def labweb_run(*, rigs: int, hz: float, seconds: float, log_dir: Path) -> dict:
    dashboards = Dashboards(log_dir / "labweb")
    tokens = register(dashboards.env, rigs=rigs)
    dashboards.start()
    try:
        return load_run(urls=dashboards.urls, tokens=tokens, cookie="", rigs=rigs, hz=hz, browsers=0, seconds=seconds,
                        pids=dashboards.pids)
    finally:
        dashboards.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rigs", type=int, default=1000)
    parser.add_argument("--hz", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=1, help="rounds of every server, taken in turn")
    parser.add_argument("--servers", nargs="+", default=["daphne", "uvicorn", "labweb"],
                        choices=["daphne", "uvicorn", "labweb"])
    args = parser.parse_args(argv)
    servers = [s for s in args.servers if s != "uvicorn" or importlib.util.find_spec("uvicorn")]
    if servers != args.servers:
        print("uvicorn is not installed: skipped (pip install 'uvicorn[standard]')", flush=True)
    print(f"{args.rigs} agents at {args.hz:g} Hz, {args.seconds:g} s per run, no browser; "
          f"reference work {reference_ms():.2f} ms", flush=True)
    print(f"{'server':>24}{'sent %':>10}{'cores':>10}{'us/status':>12}", flush=True)
    figures: dict[str, list[float]] = {s: [] for s in servers}
    with tempfile.TemporaryDirectory(prefix="labweb-bare-") as tmp:
        for _ in range(args.runs):
            for server in servers:
                if server == "labweb":
                    row = labweb_run(rigs=args.rigs, hz=args.hz, seconds=args.seconds, log_dir=Path(tmp))
                    name = "labweb (daphne)"
                else:
                    row = bare_run(server, rigs=args.rigs, hz=args.hz, seconds=args.seconds, log_dir=Path(tmp))
                    name = f"{server}, drops statuses"
                figures[server].append(row["us/status"])
                print(f"{name:>24}{row['sent %']:>10.1f}{row['dashboard cores']:>10.2f}{row['us/status']:>12.1f}",
                      flush=True)
                time.sleep(2)
    print(f"reference work at the end {reference_ms():.2f} ms", flush=True)
    if "daphne" in figures and "labweb" in figures:
        floor, total = statistics.median(figures["daphne"]), statistics.median(figures["labweb"])
        print(f"medians: daphne's own floor {floor:.1f} us/status, labweb's relay on top {total - floor:.1f} "
              f"({100 * (total - floor) / total:.0f}% of labweb's {total:.1f})", flush=True)


if __name__ == "__main__":
    main()
