"""The lab's records: subjects, sessions, rigs, commands and the raw rig event stream."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RecordsConfig(AppConfig):
    name = "labweb.records"
    verbose_name = "Lab records"

    def ready(self) -> None:
        from .roles import roles_ensure

        post_migrate.connect(roles_ensure, sender=self)
