"""What the dashboard keeps about alerts: the rules' settings, every alert, where notifications go and each one sent."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from labweb.fleet.models import Rig

from .choices import AlertKind, AlertState, DeliveryEvent, DeliveryState

_ACTIVE = Q(state__in=[AlertState.OPEN, AlertState.ACKNOWLEDGED])


class Rule(models.Model):
    """One alert rule's switch and threshold as an admin set them; empty means the environment's setting."""

    kind = models.CharField(max_length=32, choices=AlertKind.choices, unique=True)
    enabled = models.BooleanField(default=True, help_text="Off: the rule is not checked and its open alerts resolve.")
    threshold = models.FloatField(
        null=True, blank=True,
        help_text="Overrides the environment's setting (its unit is in the rule's description); empty: the setting.",
    )

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Alert(models.Model):
    """A condition a rule found, from the moment it held until it cleared: opened once, resolved by itself.

    `key` tells apart conditions of one kind on one rig (a series' file, a session's exp_ref); the database allows
    one active alert per (kind, rig, key), so a condition that keeps holding never opens a second one.
    """

    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    rig = models.ForeignKey(Rig, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    key = models.CharField(max_length=1000, blank=True, help_text="What the condition is about besides the rig.")
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    title = models.CharField(max_length=300, help_text="One line, with the figures as they were at the last check.")
    detail = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="The figures of the last check that found it.")
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts_acknowledged"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # NULLs are distinct in a unique index, so alerts without a rig need their own constraint.
            models.UniqueConstraint(fields=["kind", "rig", "key"], condition=_ACTIVE & Q(rig__isnull=False),
                                    name="one_active_alert_per_rig_condition"),
            models.UniqueConstraint(fields=["kind", "key"], condition=_ACTIVE & Q(rig__isnull=True),
                                    name="one_active_alert_per_condition"),
        ]
        indexes = [models.Index(fields=["state", "opened_at"]), models.Index(fields=["rig", "state"])]

    def __str__(self) -> str:
        return self.title

    @property
    def active(self) -> bool:
        return self.state in AlertState.active()


class Destination(models.Model):
    """Where notifications go: e-mail addresses (Django's mail settings) or a chat webhook (an apprise URL)."""

    name = models.CharField(max_length=64, unique=True)
    email = models.TextField(blank=True, help_text="E-mail addresses, separated by commas.")
    url = models.CharField(
        max_length=1000, blank=True,
        help_text="A webhook as an apprise URL: the Slack, Mattermost or Teams webhook address as the chat tool "
        "gives it (https://hooks.slack.com/services/..., mmost://host/token, https://...webhook.office.com/...), "
        "or json://host:port/path for a plain JSON POST (jsons:// for HTTPS).",
    )
    kinds = models.JSONField(default=list, blank=True, help_text="The rules it hears; empty: every rule.")
    on_resolve = models.BooleanField(default=True, help_text="Also tell it when an alert resolves.")
    enabled = models.BooleanField(default=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="Why the last try failed.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if bool(self.email.strip()) == bool(self.url.strip()):
            raise ValidationError("Give either e-mail addresses or a webhook URL (one destination, one channel).")

    def hears(self, kind: str) -> bool:
        return self.enabled and (not self.kinds or kind in self.kinds)

    @property
    def failing(self) -> bool:
        """Its latest try failed (a later success clears it)."""
        return bool(self.last_failure_at and (not self.last_success_at or self.last_failure_at > self.last_success_at))

    @property
    def channel(self) -> str:
        return "e-mail" if self.email.strip() else self.url.split(":", 1)[0]


class Delivery(models.Model):
    """One notification: an alert's opening or resolution, for one destination, tried with backoff until sent."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=16, choices=DeliveryEvent.choices)
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A sender is trying it until then; no other sender takes it meanwhile."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            # Exactly one notification per destination for an alert's opening, and one for its resolution.
            models.UniqueConstraint(fields=["alert", "destination", "event"], name="one_delivery_per_event"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.alert} {self.event} -> {self.destination}"


class Watch(models.Model):
    """A rig figure the rules follow between checks (frames dropped, refused packets, bytes copied): when it last
    rose, so "no bytes for 10 minutes" or "no new drops for 5 minutes" survive a restart of the dashboard."""

    rig = models.ForeignKey(Rig, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=32)
    key = models.CharField(max_length=1000, blank=True, help_text="What the figure belongs to (a series, a copy).")
    value = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True, help_text="When the value last rose (or started).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rig", "name"], name="one_watch_per_rig_figure")]


class Lease(models.Model):
    """Which dashboard process runs a periodic job: one owner at a time, taken over when it stops renewing."""

    name = models.CharField(max_length=64, primary_key=True)
    owner = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.owner} until {self.expires_at}"
