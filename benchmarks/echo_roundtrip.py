"""Echo request/reply round trips on loopback: labweb vs iblutil as main and as listener, 1 and 8 services.

One round = the main sends EXPSTATUS to every service concurrently and waits for every reply
(4 datagrams per service: request, echo, reply, echo). Every pair runs in the same process and
event loop, in the same run, interleaved over several repetitions, so the figures are comparable
with each other (not with another machine). Wall-clock rates swing with whatever else the machine
runs, so the rate is the best repetition's, and the CPU time per round trip (process time, both
sides) is printed too: it is the steadier measure of the work each implementation does.
Usage: python benchmarks/echo_roundtrip.py [--seconds 0.8] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iblutil.io.net import app, base  # noqa: E402

from rigs.echo import EchoRig, Services  # noqa: E402

IMPLS = ("labweb", "iblutil")


def quiet(name: str) -> logging.Logger:
    logger = logging.getLogger(f"bench.{name}")
    logger.setLevel(logging.WARNING)  # iblutil would otherwise log every datagram to stdout at DEBUG
    return logger


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_listener(impl: str, name: str):
    """A listening rig answering EXPSTATUS; returns (uri, closer)."""
    if impl == "labweb":
        rig = await EchoRig("udp://127.0.0.1:0", name).start()
        return rig.endpoint_uri, rig.close
    com = await app.EchoProtocol.server(f"udp://127.0.0.1:{free_port()}", name=name, log=quiet(name))
    com.assign_callback("EXPSTATUS", lambda data, addr: asyncio.ensure_future(com.status(base.ExpStatus.RUNNING, addr=addr)))

    async def close():
        com.close()
    return com.server_uri, close


async def start_main(impl: str, uris: dict[str, str]):
    """A main rig; returns (one_round coroutine function, closer)."""
    if impl == "labweb":
        services = await Services.connect(uris, timeout=10)
        return (lambda: services.status(20)), services.close
    clients = [await app.EchoProtocol.client(uri, name, log=quiet("main-" + name)) for name, uri in uris.items()]
    services = app.Services(clients, timeout=10)
    return (lambda: services.status(base.ExpStatus.RUNNING)), services.close


async def measure(main_impl: str, listener_impl: str, n: int, seconds: float) -> tuple[list[float], float]:
    """Run rounds for `seconds`; return each round's latency and the CPU seconds per round trip."""
    listeners = [await start_listener(listener_impl, f"rig{i}") for i in range(n)]
    one_round, close_main = await start_main(main_impl, {f"rig{i}": uri for i, (uri, _) in enumerate(listeners)})
    try:
        for _ in range(20):  # warm-up
            await one_round()
        latencies = []
        cpu = time.process_time()
        end = time.perf_counter() + seconds
        while (t0 := time.perf_counter()) < end:
            await one_round()
            latencies.append(time.perf_counter() - t0)
        return latencies, (time.process_time() - cpu) / (n * len(latencies))
    finally:
        close_main()
        for _, close in listeners:
            await close()
        await asyncio.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(seconds: float, repeats: int, sizes: tuple[int, ...]) -> dict:
    results: dict[tuple[str, str, int], dict] = {}
    for rep in range(repeats):
        for n in sizes:
            pairs = [(m, lst) for m in IMPLS for lst in IMPLS]
            for main_impl, listener_impl in pairs if rep % 2 == 0 else reversed(pairs):  # alternate the order
                lat, cpu = await measure(main_impl, listener_impl, n, seconds)
                cell = results.setdefault((main_impl, listener_impl, n), {"rates": [], "lat": [], "cpu": []})
                cell["rates"].append(n * len(lat) / sum(lat))
                cell["lat"].extend(lat)
                cell["cpu"].append(cpu)
    return results


def table(results: dict) -> str:
    head = f"{'main -> listener':<20}{'services':>9}{'round trips/s':>14}{'p50 ms':>8}{'p99 ms':>8}{'CPU us/rt':>10}{'rate vs ibl':>12}{'CPU vs ibl':>11}"
    lines = [head]
    for (main_impl, listener_impl, n), cell in sorted(results.items(), key=lambda kv: (kv[0][2], kv[0][:2] != ("labweb", "labweb"))):
        rate, cpu = max(cell["rates"]), statistics.median(cell["cpu"])
        ref = results[("iblutil", "iblutil", n)]
        lines.append(f"{main_impl + ' -> ' + listener_impl:<20}{n:>9}{rate:>14.0f}{percentile(cell['lat'], 0.5) * 1e3:>8.3f}"
                     f"{percentile(cell['lat'], 0.99) * 1e3:>8.3f}{cpu * 1e6:>10.1f}{rate / max(ref['rates']):>11.2f}x"
                     f"{statistics.median(ref['cpu']) / cpu:>10.2f}x")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.8, help="measuring time per pair and repetition")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions, interleaved (best rate reported)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(run(args.seconds, args.repeats, (1, 8)))
    print("UDP loopback, main and listeners in one process and event loop; a round trip = 4 datagrams.")
    print("'rate vs ibl' = best rate / best iblutil -> iblutil rate with as many services (higher is faster);")
    print("'CPU vs ibl' = iblutil -> iblutil CPU per round trip / this pair's (higher is cheaper).")
    print("Noisy on a shared 2-core machine: compare rows of one run, not runs.")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
