"""The live side of the dashboard: the agent and browser sockets and the relay between them."""

from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "labweb.live"
    verbose_name = "Live relay"

    def ready(self):
        from .layer import counting_install

        counting_install()  # channels_redis tells of its drops only in a log record: count them from the start
