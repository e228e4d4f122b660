"""An operator copies a demo session to the server: its progress moves live on the rig's card, then the audit page
holds the transfer's record with every file."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_copy_to_server_shows_live_progress_then_the_record_with_its_files(demo, page):
    demo.login(page)
    card = page.locator(".rig-card[data-rig='behavior']")
    expect(card).to_have_attribute("data-online", "true")
    card.locator("button.run-transfer").click()

    part = card.locator(".part.transfer.active")
    expect(part.locator("h3")).to_contain_text("Copying", timeout=10_000)
    title = part.locator("h3").text_content()
    exp_ref = re.search(r"\d{4}-\d{2}-\d{2}_\d+_demo_mouse", title)[0]
    expect(part.locator(".transfer-rate")).to_contain_text("/s")
    done = part.locator(".transfer-bytes")
    first = done.text_content()
    expect(done).not_to_have_text(first, timeout=5_000)  # the bytes move while it still copies
    expect(card.locator(".part.transfer.idle .transfer-outcome")).to_have_text("finalized", timeout=20_000)
    expect(card.locator(".reply")).to_contain_text("transfer.run: done")

    row = page.locator("table.transfers tr", has_text=exp_ref)
    deadline = time.monotonic() + 10
    while True:  # the done event reaches the database moments after the card shows it
        page.goto(demo.url + "/transfers/")
        if row.count() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    expect(row.locator(".outcome")).to_have_text("Finalized")
    expect(page.locator(f"table.copy-states tr[data-exp-ref='{exp_ref}'] .copy-state[data-rig='behavior']")).to_contain_text("3 Finalized")
    row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text(exp_ref)
    files = page.locator("table.transfer-file-list tbody tr")
    expect(files).to_have_count(153)
    video = files.filter(has_text="raw_task_data_00/_iblrig_video_0.raw.bin")
    expect(video.locator("td[title='8388608 bytes']")).to_have_count(1)
    expect(video.locator("td.hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.locator(".transfer-files")).to_contain_text("153 (153 copied by this run; 153 listed)")
