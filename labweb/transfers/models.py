"""What the dashboard keeps about transfers: each device's copy of a session to the server, and every file in it."""

from __future__ import annotations

from django.db import models

from labweb.fleet.models import Rig
from labweb.records.choices import CopyState
from labweb.records.models import Session

from .choices import TransferOutcome, TransferTrigger


class Transfer(models.Model):
    """One rig's copy of its share of one session to the lab server, as its agent reported it.

    Built from the rig's transfer.* events, which may arrive in any order: a record can exist with its files
    before its outcome, or with its outcome before its start.
    """

    rig = models.ForeignKey(Rig, on_delete=models.PROTECT, related_name="transfers")
    transfer_id = models.CharField(max_length=64, help_text="The agent's id for this transfer (in every event of it).")
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="transfers",
        help_text="The session record with this exp_ref, when the dashboard knows it.",
    )
    exp_ref = models.CharField(max_length=100, blank=True, db_index=True)
    subject = models.CharField(max_length=64, blank=True, db_index=True, help_text="From the exp_ref.")
    session_date = models.DateField(null=True, blank=True, db_index=True, help_text="From the exp_ref.")
    tag = models.CharField(max_length=32, blank=True, help_text="The device tag the rig copied as.")
    trigger = models.CharField(max_length=16, blank=True, choices=TransferTrigger.choices)
    source = models.TextField(blank=True, help_text="The local session folder on the rig.")
    destination = models.TextField(blank=True, help_text="The session folder on the lab server.")
    files = models.PositiveIntegerField(default=0, help_text="Files of this device in the session.")
    bytes = models.BigIntegerField(default=0)
    files_copied = models.PositiveIntegerField(default=0, help_text="Copied by this run (the rest were already there).")
    bytes_copied = models.BigIntegerField(default=0)
    chunks = models.PositiveIntegerField(null=True, blank=True, help_text="transfer.files events the rig sent.")
    hash_algorithm = models.CharField(max_length=32, blank=True)
    manifest = models.TextField(blank=True, help_text="The manifest's path on the server (relative paths, sizes, hashes).")
    verified = models.BooleanField(default=False, help_text="Every file was verified when it was copied.")
    outcome = models.CharField(max_length=16, choices=TransferOutcome.choices, default=TransferOutcome.RUNNING)
    error = models.TextField(blank=True)
    message = models.TextField(blank=True, help_text="The copier's explanation of the copy state, for operators.")
    state_before = models.PositiveSmallIntegerField(choices=CopyState.choices, null=True, blank=True)
    state_after = models.PositiveSmallIntegerField(choices=CopyState.choices, null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    recheck_ok = models.BooleanField(null=True, blank=True, help_text="Outcome of the last re-verification.")
    rechecked_at = models.DateTimeField(null=True, blank=True)
    recheck = models.JSONField(
        default=dict, blank=True, help_text="The last transfer.verified report (files, bad files, errors)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["rig", "transfer_id"], name="unique_rig_transfer")]
        indexes = [models.Index(fields=["outcome", "started_at"])]

    def __str__(self) -> str:
        return f"{self.exp_ref or self.transfer_id} @ {self.rig}"

    @property
    def files_received(self) -> int:
        return self.file_rows.count()


class TransferFile(models.Model):
    """One file a transfer put on the server, from the transfer's manifest."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="file_rows")
    path = models.CharField(max_length=1024, help_text="Relative to the server session folder, '/'-separated.")
    size = models.BigIntegerField()
    hash = models.CharField(max_length=128)
    recheck_status = models.CharField(
        max_length=16, blank=True,
        help_text="Last re-verification: ok, missing, size, hash or error (empty: not re-verified).",
    )

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["transfer", "path"], name="unique_transfer_file")]

    def __str__(self) -> str:
        return self.path
