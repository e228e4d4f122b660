"""Websocket routes: /ws/agent/ by rig token, /ws/dashboard/ by login session behind origin checks."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path

from .auth import LoggingOriginValidator, RigTokenAuthMiddleware
from .consumers import AgentConsumer, DashboardConsumer

websocket_application = URLRouter(
    [
        path("ws/agent/", RigTokenAuthMiddleware(AgentConsumer.as_asgi())),
        path("ws/dashboard/", LoggingOriginValidator(AuthMiddlewareStack(DashboardConsumer.as_asgi()))),
    ]
)
