"""The rig fleet: registry, commands, events and the rig page."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FleetConfig(AppConfig):
    name = "labweb.fleet"
    verbose_name = "Rig fleet"

    def ready(self) -> None:
        from .roles import roles_ensure

        post_migrate.connect(roles_ensure, sender=self)
