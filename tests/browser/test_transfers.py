"""A session's copy to the server, watched on the card while it runs, then audited file by file."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_sessions_copy_shows_live_progress_on_the_card_then_its_record_with_its_files(demo, page):
    demo.login(page)
    expect(page.locator(".rig-card.online")).to_have_count(3)
    page.goto(demo.url + "/sessions/start/")
    for rig in ("behavior", "cam-left", "cam-right"):
        page.get_by_label(rig, exact=True).check()
    page.fill("input[name=duration]", "6")
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/*_demo_mouse/")
    exp_ref = page.url.rstrip("/").rsplit("/", 1)[1]

    page.goto(demo.url + "/")
    card = page.locator(".rig-card[data-rig='cam-left']")
    part = card.locator(".part.transfer.active")  # the copy starts by itself when the session ends
    expect(part.locator("h3")).to_have_text(f"Copying {exp_ref}", timeout=30_000)
    expect(part.locator(".transfer-rate")).to_contain_text("/s")
    done = part.locator(".transfer-bytes")
    first = done.text_content()
    expect(done).not_to_have_text(first, timeout=5_000)  # the bytes move while it still copies
    latest = card.locator(".transfer-recent .transfer-outcome").first
    expect(latest).to_have_attribute("data-exp-ref", exp_ref, timeout=30_000)
    expect(latest).not_to_contain_text("failed")

    card.locator("button.run-transfer").click()  # nothing is waiting: the card says so, plainly
    expect(card.locator(".reply")).to_contain_text("no session holds transfer_me.flag", timeout=10_000)

    page.goto(demo.url + "/transfers/")
    row = page.locator("table.transfers tr", has_text=exp_ref).filter(has_text="cam-left")
    expect(row.locator(".outcome")).to_have_text(re.compile(r"^Copied"))
    expect(page.locator(f"table.copy-states tr[data-exp-ref='{exp_ref}'] .copy-state[data-rig='cam-left']"))\
        .to_contain_text("3 Finalized", timeout=30_000)
    row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text(exp_ref)
    files = page.locator("table.transfer-file-list tbody tr")
    expect(files).to_have_count(1)
    video = files.filter(has_text="raw_video_data/_labweb_leftCamera.raw.h5")
    expect(video.locator("td.hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
