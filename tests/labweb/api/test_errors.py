"""Every error is JSON with a `detail` sentence and the right status; a 400 says which field and why."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_400_has_a_sentence_and_the_errors_by_field(operator_api, subject):
    response = operator_api.post("/api/v1/sessions/reserve/", {"subject": "KS051", "date": "31/12/2024"})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "errors"} and list(body["errors"]) == ["date"]
    assert body["detail"].startswith("Invalid input: date: Date has wrong format.")


def test_a_body_that_is_not_json_is_a_400_in_json(operator_api, subject):
    response = operator_api.client.post("/api/v1/sessions/reserve/", "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


def test_a_401_says_how_to_authenticate(anonymous_api):
    response = anonymous_api.get("/api/v1/sessions/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated: send a personal API token (Authorization: Bearer "
                                         "lwa_..., made on the API page, /api/tokens/), or log in."}


def test_a_path_under_the_api_that_names_nothing_is_a_404_in_json(anonymous_api):
    for path in ("/api/v1/nothing/", "/api/v2/rigs/", "/api/"):
        response = anonymous_api.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json()["detail"] == f"No API endpoint at {path}. The endpoints are listed at /api/v1/."


def test_a_method_an_endpoint_does_not_take_is_405_in_json(viewer_api):
    response = viewer_api.post("/api/v1/events/", {})
    assert response.status_code == 405 and response.json() == {"detail": 'Method "POST" not allowed.'}


def test_a_page_out_of_range_is_404_in_json(viewer_api):
    response = viewer_api.get("/api/v1/commands/", page=5)
    assert response.status_code == 404 and response.json() == {"detail": "Invalid page."}
