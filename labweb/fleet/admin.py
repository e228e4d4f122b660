"""Admin pages for the fleet: the registry can be fixed here; commands and events are the audit, read-only."""

from django.contrib import admin

from .models import Command, Rig, RigEvent


@admin.register(Rig)
class RigAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "online", "out_of_service", "last_seen", "version", "echo_uri"]
    list_filter = ["kind", "online", "out_of_service"]
    search_fields = ["name", "hostname"]
    readonly_fields = ["token_hash", "token_created_at", "last_seen", "version", "hostname", "last_status"]


class AuditAdmin(admin.ModelAdmin):
    """Records written by the rigs and the dashboard itself: looked at, never added, changed or deleted here.
    (The other apps' audit records use it too.)"""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Command)
class CommandAdmin(AuditAdmin):
    list_display = ["issued_at", "rig", "action", "issued_by", "state", "answered_at"]
    list_filter = ["state", "action", "rig"]


@admin.register(RigEvent)
class RigEventAdmin(AuditAdmin):
    list_display = ["rig", "seq", "name", "time", "received_at"]
    list_filter = ["name", "rig"]
