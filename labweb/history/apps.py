"""History: each connected rig's status, downsampled to one point per interval, kept for a set number of days."""

from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "labweb.history"
    verbose_name = "Rig history"
