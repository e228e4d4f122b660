"""Browser fixtures: Debian's chromium driven by Playwright (never a downloaded browser), against real processes.

Run in their own pytest invocation (scripts/test does): Playwright's sync API runs an event loop in the test
thread, which would break pytest-asyncio tests that come after it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.processes import Demo

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, chromium keeps trying to reach Google's services, which a lab's closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium); CI must run the browser tests")
        pytest.skip("chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django must accept ORM calls from it here (only).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def demo(tmp_path):
    running = Demo(tmp_path / "data", rigs=3)
    yield running
    if running.process.poll() is None:
        running.stop()
