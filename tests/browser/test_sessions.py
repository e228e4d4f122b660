"""An operator starts a multi-rig session from the browser, watches every rig's state change live, and stops it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_start_watch_and_stop_a_multi_rig_session(demo, page):
    demo.login(page)
    expect(page.locator(".rig-card.online")).to_have_count(3)
    page.goto(demo.url + "/subjects/add/")
    page.fill("input[name=name]", "mouse_42")
    page.click("button[type=submit]")

    page.goto(demo.url + "/sessions/start/")
    page.select_option("select[name=subject]", label="mouse_42")
    for rig in ("behavior", "cam-left", "cam-right"):
        page.get_by_label(rig, exact=True).check()
    page.click("button[type=submit]")  # no duration: until stopped

    page.wait_for_url("**/sessions/*_1_mouse_42/")
    rows = page.locator("#participants tbody tr")
    expect(rows).to_have_count(3)
    for rig in ("behavior", "cam-left", "cam-right"):
        expect(page.locator(f"tr[data-rig='{rig}'] .rig-state")).to_have_text("Running", timeout=20_000)

    page.click("button[value=stop]")
    page.wait_for_url("**/sessions/*_1_mouse_42/")
    expect(page.locator("#session-state")).to_have_text("Stopped", timeout=20_000)  # live, no reload
    for rig in ("behavior", "cam-left", "cam-right"):
        expect(page.locator(f"tr[data-rig='{rig}'] .rig-state")).to_have_text("Stopped")
    expect(page.locator("#session-controls")).to_be_hidden()
    story = page.locator("#story li")  # told by the server, and fetched again as the session moves on
    expect(story.filter(has_text="was stopped by an operator")).to_have_count(1, timeout=10_000)
    for rig in ("behavior", "cam-left", "cam-right"):
        expect(story.filter(has_text=rig).filter(has_text="Started recording")).to_have_count(1)
        expect(story.filter(has_text=rig).filter(has_text=re.compile(r"\bStopped[:.]"))).to_have_count(1, timeout=10_000)
    expect(page.locator("#event-count")).not_to_have_text("0")  # its count follows the story
    page.reload()  # the raw log is drawn by the server
    expect(page.get_by_text("sent reply EXPSTART").first).to_be_hidden()  # the raw log waits, folded
    page.locator("#event-log summary").click()
    expect(page.get_by_text("sent reply EXPSTART").first).to_be_visible()
