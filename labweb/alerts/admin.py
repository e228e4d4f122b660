"""Admin pages: rules (switch and threshold), destinations (with a test button), and the alert and notification
records (read-only: they are the audit)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from labweb.fleet.admin import AuditAdmin

from .choices import AlertKind
from .models import Alert, Delivery, Destination, Rule
from .notify import Message, SendError, send
from .rules import RULES


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "enabled", "threshold", "unit", "from_environment", "description"]
    list_editable = ["enabled", "threshold"]
    fields = ["kind", "enabled", "threshold"]
    readonly_fields = ["kind"]

    def has_add_permission(self, request):
        return False  # one row per rule, made by migrate

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="unit")
    def unit(self, rule):
        return RULES[rule.kind].unit if rule.kind in RULES else ""

    @admin.display(description="environment's setting")
    def from_environment(self, rule):
        from django.conf import settings

        spec = RULES.get(rule.kind)
        return f"{spec.setting} = {getattr(settings, spec.setting):g}" if spec and spec.setting else "—"

    @admin.display(description="what it watches")
    def description(self, rule):
        return RULES[rule.kind].description if rule.kind in RULES else ""


class DestinationForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(choices=AlertKind.choices, required=False, widget=forms.CheckboxSelectMultiple,
                                      help_text="The rules it hears; none ticked: every rule.")

    class Meta:
        model = Destination
        fields = ["name", "email", "url", "kinds", "on_resolve", "enabled"]


@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    form = DestinationForm
    list_display = ["name", "channel", "enabled", "hears", "on_resolve", "last_success_at", "last_failure_at", "last_error"]
    readonly_fields = ["last_success_at", "last_failure_at", "last_error"]
    actions = ["send_test"]

    @admin.display(description="rules")
    def hears(self, destination):
        return ", ".join(destination.kinds) if destination.kinds else "all"

    @admin.action(description="Send a test notification now")
    def send_test(self, request, queryset):
        for destination in queryset:
            addresses = tuple(a.strip() for a in destination.email.split(",") if a.strip())
            message = Message(title="[labweb] Test notification", body=f"Sent from the admin by {request.user} at "
                              f"{timezone.now():%Y-%m-%d %H:%M:%S %Z}.", resolved=False, email=addresses,
                              url=destination.url.strip())
            try:
                send(message)
            except SendError as exc:
                self.message_user(request, f"{destination}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{destination}: sent", messages.SUCCESS)


@admin.register(Alert)
class AlertAdmin(AuditAdmin):
    list_display = ["opened_at", "kind", "rig", "title", "state", "acknowledged_by", "resolved_at"]
    list_filter = ["state", "kind", "rig"]
    search_fields = ["title", "key"]


@admin.register(Delivery)
class DeliveryAdmin(AuditAdmin):
    list_display = ["created_at", "alert", "event", "destination", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["state", "event", "destination"]
