"""The front page as a fleet table: the rigs that need attention first, filters kept in the URL, a rig's card on
demand, and the view a person chose kept too."""

from __future__ import annotations

import os
import re
import signal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_fleet_table_puts_trouble_first_filters_by_url_and_opens_a_card(demo, page):
    demo.login(page)
    page.goto(demo.url + "/?view=table")
    rows = page.locator("#fleet-table tbody tr[data-rig]")
    expect(rows).to_have_count(3)
    expect(page.locator("#fleet-table tbody tr[data-rig='cam-left'] td[data-column='state']")).to_have_text("Idle")

    os.kill(demo.pids["cam-right"], signal.SIGKILL)  # a rig whose PC died: it needs attention
    expect(rows.first).to_have_attribute("data-rig", "cam-right", timeout=30_000)
    expect(rows.first.locator("td[data-column='problems']")).to_contain_text("offline")
    expect(rows.first.locator("td[data-column='state']")).to_have_text("Offline")

    page.get_by_label("needs attention").check()
    expect(page).to_have_url(demo.url + "/?view=table&problems=1")
    expect(rows.locator("visible=true")).to_have_count(1)
    page.reload()  # the filters live in the URL: a bookmark shows the same rigs
    expect(page.get_by_label("needs attention")).to_be_checked()
    expect(rows.locator("visible=true")).to_have_count(1)
    page.get_by_label("needs attention").uncheck()

    page.locator("#fleet-table th[data-column='rig'] button").click()  # sorted by name
    expect(page.locator("#fleet-table th[data-column='rig']")).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_have_attribute("data-rig", "behavior")
    assert "sort=rig" in page.url

    row = page.locator("#fleet-table tr[data-rig='cam-left']")
    row.locator("button.details").click()  # the card, on demand, under its row
    card = page.locator("#fleet-table tr.fleet-details .rig-card[data-rig='cam-left']")
    expect(card).to_be_visible()
    expect(card.locator(".state-badge")).to_have_text("Idle")
    row.locator("button.details").click()
    expect(card).to_have_count(0)

    page.get_by_role("button", name="Cards").click()
    expect(page.locator("#rig-grid .rig-card")).to_have_count(3)
    assert "view=cards" in page.url and "sort=rig" in page.url  # the choice is kept for a reload


def test_an_operator_ticks_rigs_in_the_table_and_starts_and_stops_them_together(demo, page):
    demo.login(page)
    page.goto(demo.url + "/?view=table&q=cam")
    rows = page.locator("#fleet-table tbody tr[data-rig]")
    expect(rows.locator("visible=true")).to_have_count(2)
    panel = page.locator("#multispool")
    expect(panel.locator(".multispool-rigs")).to_be_hidden()  # the table is the list: no second list of names
    start = panel.locator("button.multispool-start")
    expect(start).to_be_disabled()

    page.get_by_label("Select cam-left").check()
    page.get_by_label("Select cam-right").check()
    expect(panel.locator(".multispool-selected")).to_have_text("Selected: cam-left, cam-right")
    expect(start).to_have_text("Start spooling on 2 rigs")
    start.click()
    for rig in ("cam-left", "cam-right"):
        expect(page.locator(f"#fleet-table tr[data-rig='{rig}'] td[data-column='state']")).to_have_text(
            "Spooling", timeout=20_000)
        expect(page.get_by_label(f"Select {rig}")).not_to_be_checked()  # sent once: a second click sends nothing
    expect(start).to_be_disabled()

    page.get_by_label("Select every rig shown that can spool or stop").check()  # the two shown, both spooling
    stop = panel.locator("button.multispool-stop")
    expect(stop).to_have_text("Stop 2 rigs")
    stop.click()
    for rig in ("cam-left", "cam-right"):
        expect(page.locator(f"#fleet-table tr[data-rig='{rig}'] td[data-column='state']")).to_have_text(
            "Idle", timeout=20_000)
    expect(page.locator("#fleet-table tr[data-rig='behavior']")).to_be_hidden()  # never ticked: filtered out


def test_a_card_out_of_sight_shows_the_rigs_present_state_once_scrolled_to(demo, page):
    # Cards are drawn only on screen (a fleet of hundreds at 5 Hz would keep the page busy): one that changed while
    # out of sight must be right the moment it is seen.
    page.set_viewport_size({"width": 380, "height": 160})
    demo.login(page)
    page.goto(demo.url + "/?view=cards")
    card = page.locator(".rig-card[data-rig='cam-right']")
    expect(page.locator(".rig-card[data-rig='behavior']")).to_have_class(re.compile(r"\bonline\b"))
    os.kill(demo.pids["cam-right"], signal.SIGKILL)
    expect(page.locator("#rig-summary")).to_have_text("2 of 3 online", timeout=30_000)
    card.scroll_into_view_if_needed()
    expect(card).to_have_class(re.compile(r"\boffline\b"))
    expect(card.locator(".state-badge")).to_have_text("Offline")
