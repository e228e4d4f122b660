"""The lab's records: subjects, sessions, rigs, commands and the raw rig event stream."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RecordsConfig(AppConfig):
    name = "labweb.records"
    verbose_name = "Lab records"

    def ready(self) -> None:
        from .events import event_applier_register
        from .roles import roles_ensure
        from .session_events import session_event_apply

        post_migrate.connect(roles_ensure, sender=self)
        event_applier_register("session.", session_event_apply)
        event_applier_register("echo.", session_event_apply)
