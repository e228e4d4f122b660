"""Who may open a socket: agents by their rig token, browsers by login session and origin.

Refusals happen in the websocket handshake (daphne answers HTTP 403); daphne itself logs only `WSREJECT`,
so every refusal is logged here with its reason.
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier

from labweb.fleet.services import rig_authenticate

from .origin import origin_check

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


class LoggingOriginValidator:
    """Refuses a browser socket whose Origin is not this dashboard's own (scheme, host and port) or a trusted
    origin (see origin.py), and logs why; Channels' validator compared host names only."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        reason = origin_check(scope)
        if reason:
            log.warning("browser socket from %s refused: %s", _client(scope), reason)
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
