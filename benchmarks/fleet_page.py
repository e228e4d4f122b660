"""The front page under a big fleet: N rigs sending status at 5 Hz, the page open in chromium.

Prints, for the table view and the cards view, what a person would feel: the browser's long tasks (main-thread
work over 50 ms, which delays clicks and typing), the frame time (requestAnimationFrame intervals: p50, p99, max)
and the live frames the page applied per second. The baseline, measured in the same run, is the same page with
the same rigs connected but silent (no status after hello), so the figures show what the live traffic costs.

    python benchmarks/fleet_page.py [--rigs 200] [--hz 5] [--seconds 20]

One daphne (SQLite + in-memory layer), the rigs in a process of their own, chromium (/usr/bin/chromium) through
Playwright; everything on loopback, bounded in time, and it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from tests.browser_fixtures import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.processes import DashboardProcess  # noqa: E402

PASSWORD = "bench-password-1"
GB = 1_000_000_000
# Watches the main thread from the first script on: long tasks, animation frames, and live frames applied.
PROBE = """
window.__probe = {longTasks: [], frames: [], start: performance.now()};
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__probe.longTasks.push(e.duration); })
  .observe({type: "longtask", buffered: true});
(function tick(last) {
  requestAnimationFrame((now) => { window.__probe.frames.push(now - last); tick(now); });
})(performance.now());
"""


def register(dashboard: DashboardProcess, count: int) -> dict[str, str]:
    script = (
        "from labweb.fleet import services\nfrom django.contrib.auth import get_user_model\n"
        f"user = get_user_model().objects.create_user('bench', password='{PASSWORD}')\n"
        "user.is_staff = user.is_superuser = True\nuser.save()\n"
        "result = {}\n"
        f"for i in range({count}):\n"
        "    kind = 'behavior' if i % 5 == 0 else 'video'\n"
        "    rig, token = services.rig_create(name=f'rig-{i:03d}', kind=kind, location=f'Room {i // 25 + 1}')\n"
        "    result[rig.name] = token\n"
    )
    return dashboard.query(script)


def status(name: str, index: int, tick: int) -> dict:
    spooling = index % 3 != 0
    frames = tick * 6
    return {
        "type": "status", "rig": name, "time": time.time(), "state": "spooling" if spooling else "idle",
        "disk": {"path": "D:/data", "total": 2000 * GB, "free": (900 - index) * GB - frames * 1_000_000},
        "spool": {"state": "running", "file": f"D:/data/{name}.h5", "frames": frames, "frames_captured": frames,
                  "dropped": 1 if index % 40 == 0 else 0, "fps": 30.0 + (tick % 7) / 10, "fps_in": 30.0,
                  "mb_s_disk": 45.0, "queue_fill": 0.05, "seconds_to_full": 7200.0, "elapsed_s": tick / 5,
                  "active": True} if spooling else None,
    }


async def rig(url: str, name: str, token: str, index: int, hz: float, until: float, counts: list) -> None:
    async with connect(f"{url.replace('http', 'ws', 1)}/ws/agent/", additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"type": "hello", "rig": name, "kind": "behavior" if index % 5 == 0 else "video",
                                  "version": "bench"}))
        await ws.recv()  # welcome
        await asyncio.sleep((index % 50) / 50 / max(hz, 0.1))  # spread the rigs over the period
        tick = 0
        while time.time() < until:
            if hz > 0:
                await ws.send(json.dumps(status(name, index, tick)))
                counts[0] += 1
                tick += 1
                await asyncio.sleep(1 / hz)
            else:
                await asyncio.sleep(0.5)


def rigs_in_process(url: str, tokens: dict[str, str], hz: float, seconds: float) -> float:
    """All rigs in one asyncio process; returns the statuses per second actually sent."""

    async def every_rig():
        counts = [0]
        until = time.time() + seconds
        await asyncio.gather(*(rig(url, name, tokens[name], i, hz, until, counts)
                               for i, name in enumerate(sorted(tokens))))
        return counts[0] / seconds

    return asyncio.run(every_rig())


def measure(page, url: str, view: str, seconds: float) -> dict:
    page.goto(f"{url}/?view={view}")
    page.wait_for_selector("#live-indicator.up", timeout=30_000)
    page.wait_for_timeout(2000)  # the snapshot is drawn; measure the steady state
    page.evaluate("() => { window.__probe.longTasks = []; window.__probe.frames = []; }")
    page.wait_for_timeout(seconds * 1000)
    probe = page.evaluate("() => window.__probe")
    frames = sorted(probe["frames"]) or [float("nan")]
    q = lambda p: frames[min(len(frames) - 1, int(p * len(frames)))]  # noqa: E731
    return {"view": view, "long tasks": len(probe["longTasks"]), "long ms total": sum(probe["longTasks"]),
            "frame p50 ms": q(0.5), "frame p99 ms": q(0.99), "frame max ms": frames[-1],
            "fps": len(probe["frames"]) / seconds}


def run(url: str, tokens: dict[str, str], hz: float, seconds: float) -> list[dict]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        sending = pool.apply_async(rigs_in_process, (url, tokens, hz, seconds * 2 + 12))
        time.sleep(3)  # every rig connected and greeted
        rows = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.add_init_script(PROBE)
            page.goto(f"{url}/accounts/login/")
            page.fill("input[name=username]", "bench")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            for view in ("table", "cards"):
                rows.append(measure(page, url, view, seconds))
            browser.close()
        rate = sending.get(timeout=seconds * 2 + 60)
    for row in rows:
        row["statuses/s"] = rate
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rigs", type=int, default=200)
    parser.add_argument("--hz", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labweb-fleet-page-") as tmp:
        dashboard = DashboardProcess(Path(tmp))
        try:
            tokens = register(dashboard, args.rigs)
            dashboard.start()
            url = dashboard.url
            header = ["view", "statuses/s", "long tasks", "long ms total", "frame p50 ms", "frame p99 ms",
                      "frame max ms", "fps"]
            print(f"front page, {args.rigs} rigs, chromium {args.seconds:g} s per view; one daphne (embedded)")
            print("  ".join(f"{h:>13}" for h in ["traffic", *header]))
            for label, hz in (("baseline idle", 0.0), (f"{args.hz:g} Hz", args.hz)):
                for row in run(url, tokens, hz, args.seconds):
                    cells = [f"{row[h]:>13.1f}" if isinstance(row[h], float) else f"{row[h]:>13}" for h in header]
                    print("  ".join([f"{label:>13}", *cells]))
                time.sleep(8)  # the rigs go offline between rounds
        finally:
            dashboard.stop()


if __name__ == "__main__":
    main()
