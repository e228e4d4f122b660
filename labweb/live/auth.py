"""Who may open a socket: agents by their rig token, browsers by login session and origin.

Refusals happen in the websocket handshake (daphne answers HTTP 403); daphne itself logs only `WSREJECT`,
so every refusal is logged here with its reason.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings

from labweb.fleet.services import rig_authenticate

log = logging.getLogger(__name__)


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return ""


def _client(scope) -> str:
    client = scope.get("client") or ("?", 0)
    return f"{client[0]}:{client[1]}"


class RigTokenAuthMiddleware:
    """Resolve `Authorization: Bearer <token>` to a rig; the consumer refuses the handshake when there is none.

    Python websocket clients send no Origin header, so agents are authenticated by token instead of origin.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        scope["rig"], scope["auth_error"] = await self._authenticate(scope)
        return await self.app(scope, receive, send)

    async def _authenticate(self, scope):
        header = _header(scope, b"authorization")
        if not header:
            return None, "no Authorization header"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, "Authorization header is not 'Bearer <token>'"
        rig = await database_sync_to_async(rig_authenticate)(token.strip())
        if rig is None:
            return None, "unknown or revoked rig token"
        return rig, ""


def refuse_agent(scope) -> None:
    log.warning("agent socket from %s refused: %s", _client(scope), scope.get("auth_error") or "not authenticated")


class LoggingOriginValidator(OriginValidator):
    """Channels' AllowedHostsOriginValidator, plus a log line naming the refused origin."""

    def __init__(self, application):
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if not self.valid_origin(urlparse(origin) if origin else None):
            log.warning("browser socket from %s refused: origin %r is not an allowed host", _client(scope), origin or None)
        return await super().__call__(scope, receive, send)
