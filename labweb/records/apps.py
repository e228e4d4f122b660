"""The lab's recordings: subjects, sessions and each rig's part in them."""

from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "labweb.records"
    verbose_name = "Lab records"

    def ready(self) -> None:
        from labweb.fleet.events import event_applier_register

        from .session_events import session_event_apply

        event_applier_register("session.", session_event_apply)
        event_applier_register("echo.", session_event_apply)
