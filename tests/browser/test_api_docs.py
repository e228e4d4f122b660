"""The API's interactive docs in chromium on a closed network: every file the page loads comes from labweb itself
(no request leaves 127.0.0.1), the schema loads with the browser's login, and "Try it out" calls the API."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.processes import DashboardProcess

pytestmark = pytest.mark.browser

PASSWORD = "pw-docs-reader-1"


@pytest.fixture
def dashboard(tmp_path):
    process = DashboardProcess(tmp_path / "data")
    process.manage("shell", "-c", f"from django.contrib.auth.models import User; "
                                  f"User.objects.create_user('vera', password='{PASSWORD}')")
    process.add_rig("cam-left")
    process.start()
    yield process
    process.stop()


def test_the_docs_page_loads_everything_from_labweb_and_calls_the_api_with_the_login(dashboard, page):
    requested: list[str] = []
    refused: list[str] = []

    def only_this_machine(route):
        url = route.request.url
        requested.append(url)
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            route.continue_()
        else:  # on a lab's closed network this would hang or fail: the test fails instead
            refused.append(url)
            route.abort()

    page.route("**/*", only_this_machine)
    page.goto(dashboard.url + "/accounts/login/")
    page.fill("input[name=username]", "vera")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(dashboard.url + "/")

    page.click("nav a:text('API')")
    page.click("#api-docs-link")
    page.wait_for_url(dashboard.url + "/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("labweb API")
    rigs = page.locator("#operations-rigs-rigs_list")
    expect(rigs).to_be_visible()  # the schema came through the browser's session and was drawn

    rigs.locator(".opblock-summary").click()
    rigs.get_by_role("button", name="Try it out").click()
    rigs.get_by_role("button", name="Execute").click()
    expect(rigs.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(rigs.locator(".live-responses-table .microlight").first).to_contain_text('"name": "cam-left"')

    assert not refused, f"the docs page tried to reach other machines: {refused}"
    hosts = {urlsplit(url).netloc for url in requested if url.startswith("http")}
    assert hosts == {f"127.0.0.1:{dashboard.port}"}
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in url for url in requested)
    assert any(url.endswith("/api/v1/schema/") for url in requested)
    assert any("/api/v1/rigs/" in url for url in requested)
