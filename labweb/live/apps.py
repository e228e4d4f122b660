"""The live side of the dashboard: the agent and browser sockets and the relay between them."""

from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "labweb.live"
    verbose_name = "Live relay"
