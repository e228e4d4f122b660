"""Alerts: rules watch the rigs and records, open and resolve alert records, and notify the lab's destinations."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AlertsConfig(AppConfig):
    name = "labweb.alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from .services import rules_ensure

        post_migrate.connect(rules_ensure, sender=self)
