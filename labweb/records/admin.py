"""Admin pages for every record (daily work has its own pages; this is for fixing things)."""

from django.contrib import admin

from .models import Session, SessionRig, Subject


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
