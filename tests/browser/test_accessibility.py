"""Every page passes axe-core's rules with no serious or critical violation (contrast, labels, names, ...), and
the lab's main path works from the keyboard alone."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
SERIOUS = ("serious", "critical")


def violations(page) -> list[str]:
    response = Axe().run(page).response
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}" for v in response["violations"]
            if v["impact"] in SERIOUS]


def test_every_page_passes_axe_and_a_session_starts_from_the_keyboard(demo, page):
    page.goto(demo.url + "/accounts/login/")
    assert violations(page) == []
    demo.login(page)
    expect(page.locator(".rig-card.online")).to_have_count(3)

    page.goto(demo.url + "/sessions/start/")
    for rig in ("behavior", "cam-left", "cam-right"):
        page.get_by_label(rig, exact=True).focus()
        page.keyboard.press("Space")
    page.locator("input[name=duration]").focus()
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.wait_for_url("**/sessions/*_demo_mouse/")
    session_url = page.url
    expect(page.locator("#session-data")).to_have_text("Finalized", timeout=60_000)

    pages = ["/", "/sessions/", "/sessions/start/", "/subjects/", "/subjects/add/", "/subjects/demo_mouse/",
             "/transfers/", "/rigs/cam-left/", "/no-such-page/", session_url.removeprefix(demo.url)]
    page.goto(demo.url + "/transfers/")
    pages.append(page.locator("table.transfers a").first.get_attribute("href"))
    found = {}
    for path in pages:
        page.goto(demo.url + path)
        page.wait_for_load_state("networkidle")
        found[path] = violations(page)
    assert found == {path: [] for path in pages}
