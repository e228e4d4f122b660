"""Fixtures for the records pages: real users in the two role groups, and a few records to look at."""

from __future__ import annotations

import datetime as dt

import pytest

from labweb.records import services


@pytest.fixture
def subject(db):
    return services.subject_create(name="KS051", lab="cortexlab", species="mouse", notes="left hemisphere")


@pytest.fixture
def day() -> dt.date:
    return dt.date(2024, 3, 5)
