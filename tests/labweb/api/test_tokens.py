"""Personal API tokens: made on the user's own page and shown once, stored hashed, named, with a last-used time,
revoked there; a token acts as its user with the user's role of the moment."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from labweb.api import services
from labweb.api.models import ApiToken
from labweb.api.tokens import token_hash
from labweb.fleet.models import Command
from labweb.fleet.roles import OPERATORS

from .conftest import Api

pytestmark = pytest.mark.django_db


def make_token_on_page(client: Client, name: str) -> str:
    response = client.post("/api/tokens/", {"name": name})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    return re.search(r'<pre id="new-token-value">(lwa_[\w-]+)</pre>', response.content.decode())[1]


def test_a_token_made_on_the_page_is_shown_once_and_stored_only_as_its_hash(operator_client, operator):
    token = make_token_on_page(operator_client, "analysis notebook")
    stored = ApiToken.objects.get()
    assert (stored.user, stored.name, stored.key_hash) == (operator, "analysis notebook", token_hash(token))
    assert token not in {str(value) for value in ApiToken.objects.values().get().values()}
    assert stored.prefix == token[:10] and stored.last_used_at is None
    page = operator_client.get("/api/tokens/").content.decode()
    assert "analysis notebook" in page and f"{stored.prefix}…" in page and token not in page
    assert ">never<" in page


def test_a_token_authenticates_as_its_user_and_notes_when_it_was_used(operator_client, operator):
    token = make_token_on_page(operator_client, "cron")
    response = Api(token).get("/api/v1/subjects/")
    assert response.status_code == 200
    assert ApiToken.objects.get().last_used_at is not None
    assert "never" not in operator_client.get("/api/tokens/").content.decode().split('class="last-used">')[1][:20]


def test_a_revoked_token_stops_working_at_once(operator_client):
    token = make_token_on_page(operator_client, "old laptop")
    api = Api(token)
    assert api.get("/api/v1/rigs/").status_code == 200
    response = operator_client.post(f"/api/tokens/{ApiToken.objects.get().pk}/revoke/")
    assert response.status_code == 302 and not ApiToken.objects.exists()
    refused = api.get("/api/v1/rigs/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_a_user_sees_and_revokes_only_their_own_tokens(operator, viewer, viewer_client):
    theirs, _ = services.api_token_create(user=operator, name="olga's script")
    assert "olga's script" not in viewer_client.get("/api/tokens/").content.decode()
    viewer_client.post(f"/api/tokens/{theirs.pk}/revoke/")
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_two_tokens_of_one_user_need_two_names(operator_client):
    make_token_on_page(operator_client, "notebook")
    response = operator_client.post("/api/tokens/", {"name": "notebook"})
    assert "You have a token of this name already." in response.content.decode()
    assert ApiToken.objects.count() == 1


def test_the_page_needs_a_login(client):
    response = client.get("/api/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer lwa_not-a-real-token", "Bearer a b", "Token lwa_x",
                                    "Bearer lwr_an-agent-token"])
def test_no_or_a_bad_token_is_401_in_json(db, header):
    client = Client(headers={"Authorization": header} if header else {})
    response = client.get("/api/v1/rigs/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"]


def test_a_disabled_account_s_token_is_refused(operator):
    _, token = services.api_token_create(user=operator, name="script")
    operator.is_active = False
    operator.save()
    response = Api(token).get("/api/v1/rigs/")
    assert response.status_code == 401 and "disabled" in response.json()["detail"]


def test_a_token_carries_its_user_s_role_now_not_when_it_was_made(operator, cameras):
    _, token = services.api_token_create(user=operator, name="script")
    api = Api(token)
    assert api.post("/api/v1/rigs/cam-left/spool/stop/").status_code == 202
    operator.groups.remove(Group.objects.get(name=OPERATORS))
    response = api.post("/api/v1/rigs/cam-left/spool/stop/")
    assert response.status_code == 403
    assert list(Command.objects.order_by("issued_at").values_list("state", flat=True)) == ["sent", "refused"]


def test_the_browser_session_works_for_reads_and_its_writes_need_the_csrf_token(operator, cameras):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator)
    assert browser.get("/api/v1/rigs/").status_code == 200
    refused = browser.post("/api/v1/rigs/cam-left/spool/stop/")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not Command.objects.exists()
    browser.get("/api/tokens/")  # any page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    sent = browser.post("/api/v1/rigs/cam-left/spool/stop/", headers={"X-CSRFToken": csrf})
    assert sent.status_code == 202 and Command.objects.get().issued_by == operator


def test_a_token_needs_no_csrf_token(operator_api, cameras):
    operator_api.client.handler.enforce_csrf_checks = True
    assert operator_api.post("/api/v1/rigs/cam-left/spool/stop/").status_code == 202


def test_the_admin_lists_tokens_without_their_secret(admin_client, operator):
    _, token = services.api_token_create(user=operator, name="notebook")
    page = admin_client.get("/admin/api/apitoken/").content.decode()
    assert "notebook" in page and token not in page
    assert admin_client.get("/admin/api/apitoken/add/").status_code == 403
