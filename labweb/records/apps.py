"""The lab's recordings: subjects, sessions and each rig's part in them."""

from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "labweb.records"
    verbose_name = "Lab records"

    def ready(self) -> None:
        from labweb.fleet.events import command_outcome_register, event_applier_register

        from .session_events import rig_restarted, session_event_apply, session_start_settled

        event_applier_register("session.", session_event_apply)
        event_applier_register("echo.", session_event_apply)
        event_applier_register("agent.started", rig_restarted)
        command_outcome_register("session.start", session_start_settled)
