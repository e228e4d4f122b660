"""The history is written by the dashboard itself: looked at here, never edited."""

from django.contrib import admin

from labweb.fleet.admin import AuditAdmin

from .models import RigSample


@admin.register(RigSample)
class RigSampleAdmin(AuditAdmin):
    list_display = ["rig", "t", "state", "fps", "mb_s", "queue_max", "drops", "disk_free", "copy_rate"]
    list_filter = ["rig"]
