"""The OpenAPI schema: generated without a warning, valid OpenAPI 3 by an independent validator, covering every
endpoint; and the docs page, whose JavaScript and CSS labweb serves itself."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import URLResolver, get_resolver
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(viewer_api) -> dict:
    response = viewer_api.get("/api/v1/schema/", format="json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_the_schema_generates_without_warnings_and_passes_drf_spectacular_s_validation(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn: an endpoint whose types could not be worked out would raise here.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stderr=StringIO())
    assert yaml.safe_load(out.read_text())["openapi"].startswith("3.")


def test_the_served_schema_is_valid_openapi_3(schema):
    validate(schema)  # openapi-spec-validator raises on any error
    assert schema["info"]["title"] == "labweb API"
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http", "scheme": "bearer",
        "description": "A personal API token (lwa_...), made and revoked on the API page (/api/tokens/)."}


def routes(patterns, prefix: str = "") -> set[str]:
    """Every URL route of the dashboard, with {name} for its arguments."""
    found = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            found |= routes(pattern.url_patterns, route)
        else:
            found.add("/" + re.sub(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", lambda m: "{%s}" % (m[1] or m[2]), route))
    return found


def test_every_endpoint_is_in_the_schema(schema):
    # drf-spectacular names a primary key by its field ({id}), the router by its role ({pk}).
    endpoints = {route.replace("{pk}", "{id}") for route in routes(get_resolver().url_patterns)
                 if route.startswith("/api/v1/")}
    endpoints -= {"/api/v1/", "/api/v1/schema/", "/api/v1/docs/"}  # the index, the schema itself and its page
    assert "/api/v1/rigs/{name}/spool/start/" in endpoints
    assert endpoints == set(schema["paths"])


def test_the_states_scripts_filter_by_are_enums_from_the_one_definition(schema):
    enums = schema["components"]["schemas"]
    assert enums["SessionStateEnum"]["enum"] == ["reserved", "created", "initialized", "running", "stopped",
                                                 "interrupted", "failed"]
    assert set(enums["RigStateEnum"]["enum"]) == {"offline", "idle", "session", "spooling", "copying"}
    spool = enums["SpoolStatus"]["properties"]
    assert spool["frames"]["type"] == "integer" and spool["file"]["nullable"] is True  # from rigs.messages


def test_the_schema_needs_a_token_or_a_login(anonymous_api):
    assert anonymous_api.get("/api/v1/schema/").status_code == 401


def test_the_docs_page_loads_only_labweb_s_own_files(viewer_client):
    page = viewer_client.get("/api/v1/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    files = [source for source in sources if source.startswith("/static/")]
    scripts = [source for source in sources if not source.startswith("/static/")]
    assert any(f.startswith("/static/drf_spectacular_sidecar/") for f in files)
    for source in files:
        assert finders.find(source.removeprefix("/static/")), source  # served by labweb's static files
    # Swagger UI's settings come as a script of the page's own (the CSP allows no inline script).
    assert scripts == ["/api/v1/docs/?script="], sources
    script = viewer_client.get(scripts[0]).content.decode()
    assert '"validatorUrl": null' in script  # or Swagger UI would send the schema to validator.swagger.io
    assert 'url: "/api/v1/schema/"' in script


def test_the_docs_page_is_for_people_who_logged_in(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_every_page_links_to_the_api_page_and_it_to_the_docs(viewer_client):
    assert 'href="/api/tokens/"' in viewer_client.get("/sessions/").content.decode()
    page = viewer_client.get("/api/tokens/").content.decode()
    assert 'href="/api/v1/docs/"' in page and 'href="/api/v1/schema/?format=json"' in page
