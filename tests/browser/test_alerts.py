"""The demo's low disk, seen as a lab manager sees it: the alert on cam-right's card and in the navigation bar,
on the alert page (acknowledged there), in the demo's webhook log, and the rig page's charts from the history."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.processes import Demo

pytestmark = pytest.mark.browser


@pytest.fixture
def low_disk_demo(tmp_path, monkeypatch):
    # The demo's simulated 24 GB disk falls by 20 MB/s: with the limit at 23.8 GB it is low within about 10 s.
    monkeypatch.setenv("LABWEB_ALERT_DISK_FREE_GB", "23.8")
    monkeypatch.setenv("LABWEB_ALERT_CHECK_SECONDS", "1")
    running = Demo(tmp_path / "data", rigs=3)
    yield running
    if running.process.poll() is None:
        running.stop()


def webhook_titles(demo: Demo) -> list[str]:
    log = demo.root / "webhooks.log"
    if not log.exists():
        return []
    return [json.loads(line)["body"]["title"] for line in log.read_text().splitlines() if line.strip()]


def test_the_demo_rig_running_low_on_disk_raises_an_alert_seen_everywhere(low_disk_demo, page):
    demo = low_disk_demo
    demo.login(page)
    card = page.locator(".rig-card[data-rig='cam-right']")
    alert = card.locator(".card-alert[data-kind='disk_low']")
    expect(alert).to_contain_text("cam-right", timeout=60_000)
    expect(alert).to_contain_text("free on its data disk")
    expect(page.locator("#alert-count")).to_have_text("1")
    expect(page.locator(".rig-card[data-rig='cam-left'] .card-alert")).to_have_count(0)

    alert.locator("a").click()
    row = page.locator("tr.alert-row[data-kind='disk_low']")
    expect(row).to_have_class(re.compile("highlight"))
    expect(row.locator(".alert-state")).to_have_text("Open")
    row.locator("button.acknowledge").click()
    expect(row.locator(".alert-state")).to_have_text("Acknowledged")
    expect(row.locator(".alert-ack")).to_contain_text("admin")

    deadline = time.monotonic() + 30
    while not any("cam-right" in t and "free on its data disk" in t for t in webhook_titles(demo)):
        assert time.monotonic() < deadline, f"the demo's webhook receiver got nothing: {webhook_titles(demo)}"
        time.sleep(0.5)
    expect(row.locator(".delivery")).to_contain_text("demo-webhook · opened")


def test_the_rig_page_draws_its_history_and_the_card_chart_survives_a_reload(demo, page):
    demo.login(page)
    card = page.locator(".rig-card[data-rig='cam-left']")
    expect(card).to_have_attribute("data-online", "true")
    card.locator("button.start-spool").click()
    expect(card.locator(".part.spool h3")).to_have_text("Spooling")
    deadline = time.monotonic() + 60
    while demo.query("from labweb.history.models import RigSample\n"
                     "result = RigSample.objects.filter(rig__name='cam-left', fps__gt=0).count()") < 2:
        assert time.monotonic() < deadline, "no history of the spooling rig"
        time.sleep(1)
    page.reload()
    chart = card.locator(".rate-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart).to_have_attribute("data-server-points", re.compile(r"^([2-9]|\d\d+)$"))  # from the history
    expect(chart.locator(".chart-legend")).to_contain_text("frames/s")
    expect(chart.locator(".chart-legend")).to_contain_text("MB/s to disk")

    page.goto(demo.url + "/rigs/cam-left/")
    charts = page.locator(".rig-charts")
    expect(charts).to_have_attribute("data-loaded", "true")
    for name in ("rates", "disk", "queue", "online"):
        expect(charts.locator(f".chart-{name} canvas")).to_have_count(1)
    assert int(charts.locator(".chart-rates").get_attribute("data-points")) >= 2
    expect(charts.locator(".disk-forecast")).to_contain_text("Full in")  # the spooler is writing
    charts.locator("button[data-range='week']").click()
    expect(charts).to_have_attribute("data-range", "week")
    expect(charts.locator(".chart-rates canvas")).to_have_count(1)
