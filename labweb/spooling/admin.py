"""Admin for spool runs: made from the rigs' events, so looked at here, never edited."""

from django.contrib import admin

from labweb.fleet.admin import AuditAdmin

from .models import SpoolRun


@admin.register(SpoolRun)
class SpoolRunAdmin(AuditAdmin):
    list_display = ["rig", "file_name", "outcome", "frames", "dropped", "ratio", "compression", "started_at", "ended_at"]
    list_filter = ["outcome", "compression", "rig"]
    search_fields = ["file", "rig__name", "session__exp_ref"]
    date_hierarchy = "started_at"
    raw_id_fields = ["session"]
