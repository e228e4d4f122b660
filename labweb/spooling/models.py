"""What the dashboard keeps about spooling: one record per HDF5 series a rig wrote (or was refused to write)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from labweb.fleet.models import Rig
from labweb.records.models import Session

from .choices import SpoolOutcome


class SpoolRun(models.Model):
    """One HDF5 series a rig wrote: its file, how many frames went in, how well they compressed and how it ended.

    Built from the rig's spool.* events (started, dropped, stopped/failed, refused); a preflight refusal is kept
    as a run without a file so the operator can see what was asked for and why it did not start.
    """

    rig = models.ForeignKey(Rig, on_delete=models.PROTECT, related_name="spool_runs")
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="spool_runs",
        help_text="The session whose exp_ref the rig's events named, if the dashboard knows it.",
    )
    file = models.CharField(
        max_length=1000, blank=True, help_text="The series' path on the rig's own disk; empty for a refused start."
    )
    compression = models.CharField(max_length=32, blank=True)
    frames = models.BigIntegerField(default=0, help_text="Frames stored in /ImageData (so far, while running).")
    bytes_in = models.BigIntegerField(default=0, help_text="Raw bytes of the stored frames.")
    bytes_out = models.BigIntegerField(default=0, help_text="Bytes written to disk for them (after compression).")
    ratio = models.FloatField(null=True, blank=True, help_text="Compression ratio, bytes_in / bytes_out.")
    dropped = models.BigIntegerField(
        default=0, help_text="Frames the camera delivered that found no buffer (their numbers are in the file)."
    )
    outcome = models.CharField(max_length=16, choices=SpoolOutcome.choices, default=SpoolOutcome.RUNNING)
    reason = models.CharField(
        max_length=32, blank=True,
        help_text="Why the series ended: requested, max_frames, end_of_source, disk_full, error (preflight if refused).",
    )
    error = models.TextField(blank=True, help_text="What went wrong, as the rig told the operator.")
    complete = models.BooleanField(
        default=False, help_text="The rig marked the file complete: every frame, event and metadata is on disk."
    )
    started_at = models.DateTimeField(null=True, blank=True, help_text="By the rig's clock.")
    ended_at = models.DateTimeField(null=True, blank=True, help_text="By the rig's clock.")
    last_seq = models.BigIntegerField(default=0, help_text="The rig event seq this record last took data from.")
    data = models.JSONField(default=dict, blank=True, help_text="The data of the last spool event applied.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # A refused start has no file, so only real series are unique per rig and path.
            models.UniqueConstraint(fields=["rig", "file"], condition=~Q(file=""), name="unique_spool_run_file"),
        ]
        indexes = [models.Index(fields=["rig", "started_at"])]

    def __str__(self) -> str:
        return f"{self.rig} {self.file_name or 'refused start'} ({self.outcome})"

    @property
    def file_name(self) -> str:
        """The file's name without the rig's folders (rig paths may be Windows paths)."""
        return self.file.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None
