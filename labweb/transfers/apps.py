"""Transfer audit: every copy of a session to the lab server, file by file, from the rigs' transfer.* events."""

from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "labweb.transfers"
    verbose_name = "Transfers"

    def ready(self) -> None:
        from labweb.fleet.events import event_applier_register

        from .services import transfer_event_apply

        event_applier_register("transfer.", transfer_event_apply)
