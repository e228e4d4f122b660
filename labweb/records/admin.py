"""Admin pages for every record (daily work has its own pages; this is for fixing things)."""

from django.contrib import admin

from .models import Command, Rig, RigEvent, Session, SessionRig, Subject


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["name", "lab", "species", "is_active", "created_at"]
    list_filter = ["is_active", "lab"]
    search_fields = ["name", "notes"]


class SessionRigInline(admin.TabularInline):
    model = SessionRig
    extra = 0


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["exp_ref", "subject", "date", "number", "state", "origin"]
    list_filter = ["state", "origin", "date"]
    search_fields = ["exp_ref", "subject__name"]
    inlines = [SessionRigInline]


@admin.register(Rig)
class RigAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "online", "last_seen", "version", "echo_uri"]
    list_filter = ["kind", "online"]
    search_fields = ["name", "hostname"]
    readonly_fields = ["token_hash", "token_created_at", "last_seen", "version", "hostname", "last_status"]


@admin.register(Command)
class CommandAdmin(admin.ModelAdmin):
    list_display = ["issued_at", "rig", "action", "issued_by", "state", "answered_at"]
    list_filter = ["state", "action", "rig"]
    readonly_fields = [f.name for f in Command._meta.fields]


@admin.register(RigEvent)
class RigEventAdmin(admin.ModelAdmin):
    list_display = ["rig", "seq", "name", "time", "received_at"]
    list_filter = ["name", "rig"]
    readonly_fields = [f.name for f in RigEvent._meta.fields]
