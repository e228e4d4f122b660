"""Every page works under the Content-Security-Policy it is served with: no inline script or style anywhere,
live cards and previews included (issue 14), and asks for nothing that is not there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAGES = ["/", "/sessions/", "/sessions/start/", "/subjects/", "/subjects/add/", "/transfers/", "/rigs/cam-left/",
         "/alerts/", "/api/tokens/", "/api/v1/docs/", "/admin/", "/admin/fleet/rig/", "/admin/auth/user/add/"]
# Listens before any page script runs; a violation event names the directive and what was blocked.
WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def test_every_page_passes_its_content_security_policy(demo, page):
    page.add_init_script(WATCH)
    console = []
    page.on("console", lambda message: console.append(message.text))
    missing = []  # every page asks only for what exists (an admin page once asked for /favicon.ico)
    page.on("response", lambda response: missing.append(response.url) if response.status >= 400 else None)
    demo.login(page)
    expect(page.locator(".rig-card.online")).to_have_count(3)
    expect(page.locator("#live-indicator.up")).to_have_count(1)
    violations = {}
    for path in PAGES:
        response = page.goto(demo.url + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        found = page.evaluate("() => window.__cspViolations")
        if found:
            violations[path] = found
    assert violations == {}
    assert missing == []
    assert not [line for line in console if "Failed to load resource" in line]  # the icon is the browser's own ask
    assert not [line for line in console if "Content Security Policy" in line]
