"""Scenario tests walk a person's path through every part with real processes; they use the browser fixtures."""

from tests.browser.conftest import browser, page  # noqa: F401
