"""Admin for spool runs (they are made from rig events; the admin is for looking and fixing)."""

from django.contrib import admin

from .models import SpoolRun


@admin.register(SpoolRun)
class SpoolRunAdmin(admin.ModelAdmin):
    list_display = ["rig", "file_name", "outcome", "frames", "dropped", "ratio", "compression", "started_at", "ended_at"]
    list_filter = ["outcome", "compression", "rig"]
    search_fields = ["file", "rig__name", "session__exp_ref"]
    date_hierarchy = "started_at"
    raw_id_fields = ["session"]
    readonly_fields = ["last_seq", "data", "updated_at"]
