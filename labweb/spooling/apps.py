"""Spooling records: each series a rig wrote, from its spool.* events."""

from django.apps import AppConfig


class SpoolingConfig(AppConfig):
    name = "labweb.spooling"
    verbose_name = "Spooling"

    def ready(self) -> None:
        from labweb.fleet.events import event_applier_register

        from .services import spool_event_apply, spool_runs_orphaned

        event_applier_register("spool.", spool_event_apply)
        event_applier_register("agent.started", spool_runs_orphaned)
