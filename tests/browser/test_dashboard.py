"""A lab manager logs in, sees every rig live, and watches one go offline when its agent dies."""

from __future__ import annotations

import os
import signal
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_login_live_cards_and_a_rig_going_offline(demo, page):
    demo.login(page)
    cards = page.locator(".rig-card")
    expect(cards).to_have_count(3)
    expect(page.locator(".rig-card.online")).to_have_count(3)
    expect(page.locator("#live-indicator.up")).to_have_count(1)

    os.kill(demo.pids["cam-left"], signal.SIGKILL)
    killed_at = time.monotonic()
    card = page.locator(".rig-card[data-rig='cam-left']")
    expect(card).to_have_attribute("data-online", "false", timeout=10_000)
    assert time.monotonic() - killed_at < 10
    expect(card.locator(".online-badge")).to_have_text("offline")
    expect(page.locator(".rig-card.online")).to_have_count(2)
    expect(page.locator("#rig-summary")).to_have_text("2 of 3 online")


def test_pages_need_a_login(demo, page):
    page.goto(demo.url + "/sessions/")
    assert "/accounts/login/" in page.url


def test_the_page_reconnects_by_itself_when_its_socket_drops(demo, page):
    demo.login(page)
    expect(page.locator(".rig-card.online")).to_have_count(3)
    first_socket = page.evaluate("() => window.labwebLink.socket.url")
    page.evaluate("() => window.labwebLink.socket.close()")
    expect(page.locator("#live-indicator.down")).to_have_count(1)
    expect(page.locator("#live-indicator.up")).to_have_count(1, timeout=15_000)
    assert page.evaluate("() => window.labwebLink.socket.readyState") == 1
    assert page.evaluate("() => window.labwebLink.socket.url") == first_socket
    expect(page.locator(".rig-card.online")).to_have_count(3)


def test_demo_stops_every_child_on_sigterm(demo):
    pids = list(demo.pids.values())
    assert demo.stop() == 0
    time.sleep(0.5)
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    assert alive == []


def test_a_late_sent_from_another_process_never_hides_the_rigs_answer(demo, page):
    # With several dashboard processes, the rig's answer (relayed by the process holding the rig) can come before
    # the issuing process's own "sent": the card keeps the answer.
    demo.login(page)
    reply = page.locator(".rig-card[data-rig='cam-left'] .reply")
    expect(page.locator(".rig-card.online")).to_have_count(3)
    command = {"id": "c-late-1", "rig": "cam-left", "action": "spool.stop", "params": {}, "error": None,
               "issued_by": "admin", "issued_at": time.time()}
    page.evaluate("""(c) => {
      window.labwebLink.receive({type: "frame", origin: "process-b", seq: 1, rigs: [],
                                 commands: [{...c, state: "succeeded", result: {frames: 12}}]});
      window.labwebLink.receive({type: "frame", origin: "process-a", seq: 1, rigs: [],
                                 commands: [{...c, state: "sent", result: null}]});
    }""", command)
    expect(reply).to_have_text("Series ended: 12 frames")
