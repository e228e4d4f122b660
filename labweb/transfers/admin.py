"""Admin pages for transfer records (read-only: they are the rigs' word, kept for the audit)."""

from django.contrib import admin

from .models import Transfer, TransferFile


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["started_at", "rig", "exp_ref", "tag", "outcome", "files", "bytes", "verified", "recheck_ok"]
    list_filter = ["outcome", "rig", "verified", "trigger"]
    search_fields = ["exp_ref", "transfer_id", "subject"]
    readonly_fields = [f.name for f in Transfer._meta.fields]


@admin.register(TransferFile)
class TransferFileAdmin(admin.ModelAdmin):
    list_display = ["path", "size", "hash", "recheck_status", "transfer"]
    search_fields = ["path", "hash"]
    readonly_fields = [f.name for f in TransferFile._meta.fields]
