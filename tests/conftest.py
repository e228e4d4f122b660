"""Test settings: an isolated data dir per run; scale mode (LABWEB_TEST_SCALE=1) runs on PostgreSQL + Redis."""

from __future__ import annotations

import os
import tempfile

import pytest

SCALE = os.environ.get("LABWEB_TEST_SCALE") == "1"

# Set before Django reads its settings (pytest-django imports them after conftest is loaded).
os.environ.setdefault("LABWEB_DATA_DIR", tempfile.mkdtemp(prefix="labweb-test-"))
os.environ.setdefault("LABWEB_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
if SCALE:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
else:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)


def pytest_collection_modifyitems(config, items):
    if SCALE:
        return
    skip = pytest.mark.skip(reason="scale mode only (LABWEB_TEST_SCALE=1: PostgreSQL + Redis)")
    for item in items:
        if "scale" in item.keywords:
            item.add_marker(skip)
