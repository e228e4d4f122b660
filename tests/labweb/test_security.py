"""The dashboard's HTTP hardening (issue 14): login throttling, security headers and settings from the
environment, durable SQLite commits, and no traceback for what anonymous clients can cause at will."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.processes import REPO

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_a_user_and_address_are_locked_out_after_a_few_failures_with_a_clear_message(django_user_model, settings):
    """Issue 14: 60 wrong passwords then a success used to get in."""
    django_user_model.objects.create_user("olga", password="right-password")
    django_user_model.objects.create_user("vera", password="vera-password")
    attacker = Client(REMOTE_ADDR="10.9.9.9")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(attacker, "olga", "wrong").status_code == 200  # the form again, with its error
    assert _login(attacker, "olga", "wrong").status_code == 429  # the last failure allowed locks
    locked = _login(attacker, "olga", "right-password")  # the right password no longer helps from here
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed log ins" in page and "olga" in page and "0:15:00" in page
    assert "_auth_user_id" not in attacker.session
    # The lock is per user and address: another user from there, and the user from elsewhere, still get in.
    assert _login(attacker, "vera", "vera-password").status_code == 302
    assert _login(Client(REMOTE_ADDR="10.1.1.1"), "olga", "right-password").status_code == 302


def test_a_success_resets_the_count(django_user_model, settings):
    django_user_model.objects.create_user("olga", password="right-password")
    client = Client(REMOTE_ADDR="10.2.2.2")
    for _ in range(2):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            _login(client, "olga", "wrong")
        assert _login(client, "olga", "right-password").status_code == 302
        client.logout()


def test_pages_carry_a_content_security_policy_and_the_usual_headers(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def _settings_with(env: dict) -> dict:
    code = ("import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({k: "
            "getattr(s, k, None) for k in ('SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
            "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', 'SECURE_PROXY_SSL_HEADER', 'LABWEB_CSP', "
            "'LABWEB_CSP_REPORT_ONLY', 'AXES_FAILURE_LIMIT')}))")
    base = {k: v for k, v in os.environ.items() if not k.startswith("LABWEB_") and k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**base, "DJANGO_SETTINGS_MODULE": "labweb.settings", "LABWEB_SECRET_KEY": "k" * 50,
                               "LABWEB_DATA_DIR": str(Path(REPO) / "var" / "settings-test"), **env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tls_settings_come_from_the_environment():
    plain = _settings_with({})
    assert not plain["SESSION_COOKIE_SECURE"] and plain["SECURE_HSTS_SECONDS"] == 0 and plain["LABWEB_CSP"]
    behind_tls = _settings_with({"LABWEB_SECURE_COOKIES": "1", "LABWEB_HSTS_SECONDS": "31536000",
                                 "LABWEB_HSTS_INCLUDE_SUBDOMAINS": "1", "LABWEB_SSL_REDIRECT": "1",
                                 "LABWEB_TRUST_X_FORWARDED_PROTO": "1", "LABWEB_CSP": "default-src 'self'",
                                 "LABWEB_CSP_REPORT_ONLY": "1", "LABWEB_LOGIN_FAILURES": "3"})
    assert behind_tls == {"SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_HSTS_SECONDS": 31536000,
                          "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_SSL_REDIRECT": True,
                          "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
                          "LABWEB_CSP": "default-src 'self'", "LABWEB_CSP_REPORT_ONLY": True, "AXES_FAILURE_LIMIT": 3}


@pytest.mark.skipif(os.environ.get("LABWEB_TEST_SCALE") == "1", reason="the embedded default's SQLite only")
def test_sqlite_commits_are_durable_before_events_are_acked():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2  # FULL: a power cut cannot undo a commit the rig was told about


def test_a_403_is_one_line_without_a_traceback(viewer_client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert viewer_client.get(reverse("subject-add")).status_code == 403
    record = next(r for r in caplog.records if "Forbidden" in r.getMessage())
    from labweb.security import QuietRefusals

    QuietRefusals().filter(record)
    assert record.exc_info is None and record.exc_text is None


async def _status(app, path: str) -> int:
    from asgiref.testing import ApplicationCommunicator

    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"host", b"127.0.0.1")], "scheme": "http", "server": ("127.0.0.1", 80)}
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    communicator.future.cancel()
    return start["status"]


async def test_static_path_traversal_is_a_404_not_a_500():
    from django.core.asgi import get_asgi_application

    from labweb.security import SafeStaticFilesHandler

    app = SafeStaticFilesHandler(get_asgi_application())
    for path in ("/static/../../labweb/settings.py", "/static/labweb/../../../../etc/passwd", "/static/%2e%2e/x"):
        assert await _status(app, path) == 404, path
    assert await _status(app, "/static/labweb/labweb.css") == 200
