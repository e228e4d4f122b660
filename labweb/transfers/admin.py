"""Admin pages for transfer records (read-only: they are the rigs' word, kept for the audit)."""

from django.contrib import admin

from labweb.fleet.admin import AuditAdmin

from .models import Transfer, TransferFile


@admin.register(Transfer)
class TransferAdmin(AuditAdmin):
    list_display = ["started_at", "rig", "exp_ref", "tag", "outcome", "files", "bytes", "verified", "recheck_ok"]
    list_filter = ["outcome", "rig", "verified", "trigger"]
    search_fields = ["exp_ref", "transfer_id", "subject"]


@admin.register(TransferFile)
class TransferFileAdmin(AuditAdmin):
    list_display = ["path", "size", "hash", "recheck_status", "transfer"]
    search_fields = ["path", "hash"]
