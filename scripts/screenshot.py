"""Take the README's screenshots from the real demo: `python scripts/screenshot.py [--rigs 30] [docs/]`.

docs/fleet.png: the front page's fleet table with a few dozen rigs, some spooling, one off;
docs/session.png: a finalized three-rig session's page (its story, each rig's copy);
docs/dashboard.png: the cards of three rigs in a session.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser_fixtures import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.processes import Demo  # noqa: E402


def main(out: Path, rigs: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        demo = Demo(Path(tmp) / "data", rigs=rigs)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1360, "height": 860})
                demo.login(page)
                page.goto(demo.url + "/?view=cards")
                expect(page.locator(".rig-card.online")).to_have_count(rigs, timeout=120_000)
                exp_ref = session(page, demo)
                page.goto(demo.url + "/?view=cards")
                time.sleep(4)
                page.screenshot(path=str(out / "dashboard.png"), clip={"x": 0, "y": 0, "width": 1360, "height": 860})
                page.goto(f"{demo.url}/sessions/{exp_ref}/")
                expect(page.locator("#session-data")).to_have_text("Finalized", timeout=120_000)
                expect(page.locator("#story")).to_contain_text("was finalized", timeout=10_000)  # redrawn live
                page.screenshot(path=str(out / "session.png"), full_page=True)
                fleet(page, demo)
                page.screenshot(path=str(out / "fleet.png"), full_page=True)
                browser.close()
        finally:
            demo.stop()
    print(f"wrote {out}/fleet.png, {out}/session.png, {out}/dashboard.png")


def session(page, demo) -> str:
    page.goto(demo.url + "/sessions/start/")
    for rig in ("behavior", "cam-left", "cam-right"):
        page.get_by_label(rig, exact=True).check()
    page.fill("input[name=duration]", "15")
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/*_demo_mouse/")
    return page.url.rstrip("/").rsplit("/", 1)[1]


def fleet(page, demo) -> None:
    """Some rigs spooling, one switched off: what a lab manager sees on a working day."""
    page.goto(demo.url + "/?view=cards")
    for name in list(demo.pids)[4:10]:
        button = page.locator(f".rig-card[data-rig='{name}'] .start-spool")
        if button.count():
            button.click()
    os.kill(demo.pids[list(demo.pids)[-1]], signal.SIGKILL)
    page.goto(demo.url + "/?view=table")
    time.sleep(20)  # the killed rig goes offline; the spooling rigs fill their charts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", default="docs", type=Path)
    parser.add_argument("--rigs", type=int, default=30)
    args = parser.parse_args()
    main(args.out, args.rigs)
