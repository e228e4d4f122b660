"""An operator spools from the browser: one rig from its card, several at once from the panel, and a refusal."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

A_NUMBER = re.compile(r"^\d+$")


def frames_on(card) -> int:
    text = card.locator(".spool-frames").inner_text()
    assert A_NUMBER.match(text), text
    return int(text)


def history_row(page, url: str, file_name: str, timeout: float = 15.0):
    """The rig page's row for this file, reloading until the series' end has been recorded."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        row = page.locator("tr.spool-run", has_text=file_name)
        if row.count() == 1 and row.get_attribute("data-outcome") != "running":
            return row
        assert time.monotonic() < deadline, f"{file_name} is not recorded as ended on {url}"
        time.sleep(0.5)


def test_spool_from_a_card_watch_it_stop_it_and_find_it_in_the_rigs_history(demo, page):
    demo.login(page)
    card = page.locator(".rig-card[data-rig='cam-left']")
    expect(card).to_have_attribute("data-online", "true")

    card.locator("select.compression").select_option("blosc-zstd")
    card.locator("button.start-spool").click()
    expect(card.locator(".reply")).to_have_text(re.compile(r"^Spooling to .+\.h5$"))
    expect(card.locator(".part.spool h3")).to_have_text("Spooling")

    frames = card.locator(".spool-frames")
    expect(frames).to_have_text(re.compile(r"^[1-9]\d*$"))
    first = frames_on(card)
    expect(frames).not_to_have_text(str(first))
    assert frames_on(card) > first
    preview = card.locator("img.preview")
    expect(preview).to_be_visible()
    assert preview.get_attribute("src").startswith("data:image/png;base64,")
    file_name = card.locator(".spool-file").inner_text()
    assert file_name.endswith(".h5")

    card.locator("button.stop-spool").click()
    expect(card.locator(".reply")).to_have_text(re.compile(r"^Series ended: \d+ frames$"))
    expect(card.locator(".part.spool h3")).to_have_text("Last series")
    final = frames_on(card)
    assert final > first

    card.locator(".name a.rig-link").click()
    page.wait_for_url(demo.url + "/rigs/cam-left/")
    expect(page.locator("h1")).to_contain_text("Rig cam-left")
    row = history_row(page, demo.url + "/rigs/cam-left/", file_name)
    assert row.get_attribute("data-outcome") == "ok"
    expect(row.locator(".run-frames")).to_have_text(str(final))
    expect(row).to_contain_text("Complete")
    expect(page.locator("table.rig-commands")).to_contain_text("spool.stop")
    expect(page.locator("table.rig-events")).to_contain_text("spool.stopped")


def test_several_rigs_at_once_with_settings_and_a_preflight_refusal_on_the_cards(demo, page):
    demo.login(page)
    panel = page.locator("#multispool")
    expect(panel.locator(".multispool-rigs input[type=checkbox]")).to_have_count(2)  # the rigs with a camera
    for rig in ("cam-left", "cam-right"):
        panel.locator(f"input[value='{rig}']").check()

    # Far more frames than any disk holds: the preflight refuses, and each card says why.
    panel.locator("input[name=max_frames]").fill("1000000000")
    panel.locator("select[name=preflight]").select_option("abort")
    panel.locator("button.multispool-start").click()
    for rig in ("cam-left", "cam-right"):
        reply = page.locator(f".rig-card[data-rig='{rig}'] .reply")
        expect(reply).to_contain_text("spool.start: failed (preflight refused the series")
        expect(reply).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator(".rig-card[data-rig='behavior'] .reply")).to_have_text("")

    # A series that fits: both rigs spool 30 frames and stop by themselves. A start unticks the rigs it went to
    # (a second click must not send it again): tick them again.
    expect(panel.locator("input[type=checkbox]:checked")).to_have_count(0)
    expect(panel.locator("button.multispool-start")).to_be_disabled()
    for rig in ("cam-left", "cam-right"):
        panel.locator(f"input[value='{rig}']").check()
    panel.locator("input[name=max_frames]").fill("30")
    panel.locator("button.multispool-start").click()
    for rig in ("cam-left", "cam-right"):
        card = page.locator(f".rig-card[data-rig='{rig}']")
        expect(card.locator(".reply")).to_contain_text("Spooling to")
        expect(card.locator(".part.spool h3")).to_have_text("Last series", timeout=20_000)
        expect(card.locator(".spool-frames")).to_have_text("30")

    file_name = page.locator(".rig-card[data-rig='cam-right'] .spool-file").inner_text()
    row = history_row(page, demo.url + "/rigs/cam-right/", file_name)
    assert row.get_attribute("data-outcome") == "ok"
    expect(row.locator(".run-frames")).to_have_text("30")
    refused = page.locator("tr.spool-run[data-outcome='refused']")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("Refused by preflight")


def test_a_camera_is_checked_from_its_card_before_recording(demo, page):
    demo.login(page)
    card = page.locator(".rig-card[data-rig='cam-right']")
    expect(card).to_have_attribute("data-online", "true")
    card.locator("button.check-camera").click()
    expect(card.locator(".reply")).to_have_text("Camera checked: the frame is below", timeout=15_000)
    preview = card.locator("img.preview")
    expect(preview).to_be_visible()
    assert preview.get_attribute("src").startswith("data:image/png;base64,")
    expect(card.locator(".state-badge")).to_have_text("Idle")  # nothing was recorded


def test_the_rig_page_is_live_a_series_started_there_counts_its_frames_in_the_card_and_the_history(demo, page):
    demo.login(page)
    page.goto(demo.url + "/rigs/cam-right/")
    card = page.locator("#rig-live .rig-card[data-rig='cam-right']")
    expect(card.locator(".state-badge")).to_have_text("Idle")
    expect(page.locator("h1 .rig-online")).to_have_text("online")
    card.locator("button.start-spool").click()
    expect(card.locator(".part.spool h3")).to_have_text("Spooling")
    expect(card.locator(".spool-file")).to_have_text(re.compile(r"\.h5$"))
    file_name = card.locator(".spool-file").inner_text()

    page.reload()  # the history now lists the running series; its frames count up without a reload
    row = page.locator("tr.spool-run[data-outcome='running']", has_text=file_name)
    expect(row.locator(".run-frames")).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    first = int(row.locator(".run-frames").inner_text().replace(",", ""))
    expect(row.locator(".run-frames")).not_to_have_text(row.locator(".run-frames").inner_text())
    assert int(row.locator(".run-frames").inner_text().replace(",", "")) > first

    card.locator("button.stop-spool").click()
    expect(card.locator(".reply")).to_have_text(re.compile(r"^Series ended: \d+ frames$"))
