"""What the dashboard keeps about the lab's recordings: subjects, sessions, and each rig's part in a session."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from labweb.fleet.models import Rig

from .choices import CopyState, SessionOrigin, SessionState
from .validators import subject_name_validator


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
    duration = models.FloatField(null=True, blank=True, help_text="Seconds asked for when it was started; empty: "
                                 "until someone stopped it.")
    ended_by = models.CharField(max_length=16, blank=True, help_text="What ended it, as its main rig reported: "
                                "duration, stop, interrupt, error, cancelled (empty: not known).")
    error = models.TextField(blank=True, help_text="Why it failed or which rigs did not answer, in plain words.")
    finalized_at = models.DateTimeField(null=True, blank=True, help_text="When the last device's copy completed "
                                        "and the server session was finalized (raw_session.flag written).")
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
        choices=CopyState.choices, null=True, blank=True,
        help_text="0-3 as the rig last saw it on the server; empty until the rig reported it.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_main", "rig__name"]
        constraints = [models.UniqueConstraint(fields=["session", "rig"], name="unique_session_rig")]

    def __str__(self) -> str:
        return f"{self.session} @ {self.rig}"
