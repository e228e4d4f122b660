"""Suite-wide test setup: scale-only tests are skipped unless LABWEB_TEST_SCALE=1 (see tests/settings.py)."""

from __future__ import annotations

import os

import pytest

SCALE = os.environ.get("LABWEB_TEST_SCALE") == "1"
# The browser fixtures, once for the whole run: the browser tests and the scenarios share one chromium.
pytest_plugins = ["tests.browser_fixtures"]


def pytest_report_header(config):
    if SCALE:
        return "labweb: scale mode (PostgreSQL + Redis)"
    return "labweb: embedded mode (SQLite + in-memory channel layer)"


def pytest_collection_modifyitems(config, items):
    if SCALE:
        return
    skip = pytest.mark.skip(reason="scale mode only (LABWEB_TEST_SCALE=1: PostgreSQL + Redis)")
    for item in items:
        if "scale" in item.keywords:
            item.add_marker(skip)
