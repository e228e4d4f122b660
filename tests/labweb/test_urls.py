"""Project-wide URLs: a browser's own requests find what they ask for."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.test import Client


def test_favicon_ico_leads_to_the_dashboards_icon_for_pages_that_name_none():
    # Chromium asks for /favicon.ico on the metrics' text and on JSON answers; a 404 there is a console error.
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    icon = response["Location"]
    assert icon.startswith("/static/") and icon.endswith(".svg")
    assert finders.find(icon.removeprefix("/static/")) is not None  # the icon it leads to is one the project ships
