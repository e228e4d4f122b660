"""What the dashboard keeps about the rigs: the registry, the commands sent to them and the events they reported.

These tables were created by the records app before the fleet app existed; they keep their names
(`records_rig`, ...) so that upgrading a lab's database moves no data.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from .choices import CommandState
from .validators import rig_name_validator


class Rig(models.Model):
    """An acquisition PC running a labweb agent (or an iblrig PC known by its echo URI)."""

    name = models.CharField(max_length=64, unique=True, validators=[rig_name_validator])
    kind = models.CharField(max_length=32, default="video", help_text="What the rig is: behavior, video, ephys or any name.")
    tag = models.CharField(
        max_length=32, blank=True, help_text="The device tag its agent reported (rig.yaml `tag:`, else its kind): "
        "the name of its description and stub on the server, so no two rigs of one session may share it.",
    )
    echo_uri = models.CharField(max_length=200, blank=True, help_text="Where the rig listens for the echo protocol.")
    location = models.CharField(max_length=64, blank=True, help_text="Where it stands (a room, a bench, a group): "
                                "the front page groups and filters rigs by it.")
    token_hash = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="SHA-256 of the agent token; empty means no token works."
    )
    token_created_at = models.DateTimeField(null=True, blank=True)
    online = models.BooleanField(default=False, help_text="An agent is connected (kept fresh by last_seen).")
    last_seen = models.DateTimeField(null=True, blank=True)
    version = models.CharField(max_length=32, blank=True, help_text="labweb version the agent reported.")
    hostname = models.CharField(max_length=255, blank=True)
    capabilities = models.JSONField(default=list, blank=True)
    last_status = models.JSONField(
        default=dict, blank=True, help_text="The latest status the agent sent, saved every few seconds."
    )
    out_of_service = models.BooleanField(
        default=False, help_text="A planned absence (repair, holiday, moved): no alert says it is offline."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "records_rig"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Command(models.Model):
    """An order sent to a rig from the dashboard, with who gave it and how it ended."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rig = models.ForeignKey(Rig, on_delete=models.CASCADE, related_name="commands")
    action = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="rig_commands"
    )
    issued_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=16, choices=CommandState.choices, default=CommandState.PENDING)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "records_command"
        ordering = ["-issued_at"]
        permissions = [("send_command", "Can send commands to rigs (operators)")]
        indexes = [models.Index(fields=["state", "issued_at"], name="records_com_state_b7c660_idx")]

    def __str__(self) -> str:
        return f"{self.action} -> {self.rig}"


class RigEvent(models.Model):
    """One durable event from a rig agent, stored once per (rig, seq) however often the agent re-sends it."""

    rig = models.ForeignKey(Rig, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField(help_text="The agent's monotonic sequence number for this rig.")
    name = models.CharField(max_length=64, help_text="What happened, e.g. spool.started, echo.message.")
    time = models.DateTimeField(help_text="When it happened, by the rig's clock.")
    received_at = models.DateTimeField(auto_now_add=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "records_rigevent"
        ordering = ["rig", "seq"]
        constraints = [models.UniqueConstraint(fields=["rig", "seq"], name="unique_rig_event_seq")]
        indexes = [models.Index(fields=["name", "time"], name="records_rig_name_337bf2_idx")]

    def __str__(self) -> str:
        return f"{self.rig}#{self.seq} {self.name}"
