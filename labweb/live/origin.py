"""Which pages may open the dashboard socket: the dashboard's own origin (scheme, host and port of the request,
the host being one of ALLOWED_HOSTS) or one of CSRF_TRUSTED_ORIGINS, as Django's CSRF check decides for forms.

Channels' AllowedHostsOriginValidator compares host names only, so a page served by anything else on the same
host (another port) could open a logged-in user's socket and send commands as them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return ""


def _origin_tuple(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an Origin or trusted-origin text, ports made explicit; None if it is not one."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _request_origin(scope) -> tuple[str, str, int] | None:
    """The origin a page served by this dashboard has, from the handshake's Host header and scheme."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, port = split_domain_port(host)
    allowed = list(settings.ALLOWED_HOSTS) or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed):
        return None
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    try:
        number = int(port) if port else DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return scheme, domain.strip("[]").lower(), number


def _trusted(origin: tuple[str, str, int]) -> bool:
    scheme, host, port = origin
    for text in settings.CSRF_TRUSTED_ORIGINS:
        trusted = _origin_tuple(text)
        if trusted is None or (trusted[0], trusted[2]) != (scheme, port):
            continue
        if trusted[1].startswith("*."):  # Django's form: https://*.example.com trusts every subdomain
            if host.endswith(trusted[1][1:]):
                return True
        elif trusted[1] == host:
            return True
    return False


def origin_check(scope) -> str:
    """Why the handshake's Origin may not open the socket; "" when it may."""
    text = _header(scope, b"origin")
    if not text:
        return "no Origin header"
    origin = _origin_tuple(text)
    if origin is None:
        return f"origin {text!r} is not an http(s) origin"
    if origin == _request_origin(scope) or _trusted(origin):
        return ""
    return (f"origin {text!r} is not this dashboard (scheme, host and port must match the page's, or be in "
            "LABWEB_CSRF_TRUSTED_ORIGINS)")
