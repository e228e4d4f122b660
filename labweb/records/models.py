"""What the dashboard keeps about the lab: subjects, sessions, rigs, commands and the rigs' event stream."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from .choices import CommandState, CopyState, SessionOrigin, SessionState
from .validators import rig_name_validator, subject_name_validator


class Subject(models.Model):
    """An animal (or sample) that sessions are recorded from."""

    name = models.CharField(max_length=64, unique=True, validators=[subject_name_validator])
    lab = models.CharField(max_length=64, blank=True, help_text="Lab name, for the lab/Subjects/ server layout.")
    species = models.CharField(max_length=64, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="subjects"
    )
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive subjects are hidden from new-session forms.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rig(models.Model):
    """An acquisition PC running a labweb agent (or an iblrig PC known by its echo URI)."""

    name = models.CharField(max_length=64, unique=True, validators=[rig_name_validator])
    kind = models.CharField(
        max_length=32, default="video", help_text="Device tag: behavior, video, ephys or any name (copier stubs use it)."
    )
    echo_uri = models.CharField(max_length=200, blank=True, help_text="Where the rig listens for the echo protocol.")
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    """One recording of one subject on one day, possibly on several rigs at once (exp_ref yyyy-mm-dd_n_subject)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="sessions")
    date = models.DateField()
    number = models.PositiveSmallIntegerField(help_text="Allocated by the database, 1 up, per subject and date.")
    exp_ref = models.CharField(max_length=100, unique=True)
    state = models.CharField(max_length=16, choices=SessionState.choices, default=SessionState.CREATED)
    origin = models.CharField(max_length=16, choices=SessionOrigin.choices, default=SessionOrigin.DASHBOARD)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    rigs = models.ManyToManyField(Rig, through="SessionRig", related_name="sessions")

    class Meta:
        ordering = ["-date", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "date", "number"], name="unique_session_number"),
        ]

    def __str__(self) -> str:
        return self.exp_ref

    @property
    def session_path(self) -> str:
        return f"{self.subject.name}/{self.date.isoformat()}/{self.number:03d}"


class SessionRig(models.Model):
    """One rig's part in a session: its role, lifecycle state and copy state on the server."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="participants")
    rig = models.ForeignKey(Rig, on_delete=models.PROTECT, related_name="participations")
    is_main = models.BooleanField(default=False, help_text="This rig drove the others over the echo protocol.")
    is_main_sync = models.BooleanField(default=False, help_text="This rig answered EXPINFO as the main sync.")
    state = models.CharField(max_length=16, choices=SessionState.choices, default=SessionState.CREATED)
    copy_state = models.PositiveSmallIntegerField(
        choices=CopyState.choices, null=True, blank=True, help_text="0-3; empty while the server was unreachable."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_main", "rig__name"]
        constraints = [models.UniqueConstraint(fields=["session", "rig"], name="unique_session_rig")]

    def __str__(self) -> str:
        return f"{self.session} @ {self.rig}"


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
        ordering = ["-issued_at"]
        permissions = [("send_command", "Can send commands to rigs (operators)")]
        indexes = [models.Index(fields=["state", "issued_at"])]

    def __str__(self) -> str:
        return f"{self.action} -> {self.rig}"


class RigEvent(models.Model):
    """One durable event from a rig agent, stored once per (rig, seq) however often the agent re-sends it."""

    rig = models.ForeignKey(Rig, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField(help_text="The agent's monotonic sequence number for this rig.")
    name = models.CharField(max_length=64, help_text="What happened, e.g. spool.started, echo.received.")
    time = models.DateTimeField(help_text="When it happened, by the rig's clock.")
    received_at = models.DateTimeField(auto_now_add=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["rig", "seq"]
        constraints = [models.UniqueConstraint(fields=["rig", "seq"], name="unique_rig_event_seq")]
        indexes = [models.Index(fields=["name", "time"])]

    def __str__(self) -> str:
        return f"{self.rig}#{self.seq} {self.name}"
