"""What the dashboard keeps of each rig's status over time: one row per rig per interval (10 s by default)."""

from __future__ import annotations

from django.db import models

from labweb.fleet.models import Rig


class RigSample(models.Model):
    """One rig over one interval while its agent was connected: means where a level matters, the minimum or
    maximum where a peak does (the slowest frame rate, the fullest queue, the least free disk).

    A rig with no row for an interval was offline then: the rows are the rig's online periods too.
    """

    # The unique (rig, t) index serves every lookup; a separate index on rig alone would only cost space.
    rig = models.ForeignKey(Rig, on_delete=models.CASCADE, related_name="+", db_index=False)
    t = models.BigIntegerField(
        help_text="Start of the interval in epoch seconds: an integer, so wider buckets for a week's chart are "
        "plain integer arithmetic on SQLite and PostgreSQL alike.",
    )
    state = models.CharField(max_length=16, blank=True, help_text="What the rig was doing at the interval's end.")
    fps = models.FloatField(null=True, help_text="Mean frames/s written (null: the rig has no camera).")
    fps_min = models.FloatField(null=True)
    mb_s = models.FloatField(null=True, help_text="Mean MB/s written to the rig's disk by its spooler.")
    mb_s_max = models.FloatField(null=True)
    queue_max = models.FloatField(null=True, help_text="Fullest the camera-side buffer got, 0-1.")
    drops = models.IntegerField(default=0, help_text="Frames dropped during the interval.")
    disk_free = models.BigIntegerField(null=True, help_text="Least free bytes on the data disk.")
    disk_total = models.BigIntegerField(null=True)
    copy_rate = models.FloatField(null=True, help_text="Mean bytes/s of the copy under way (0: none).")
    copy_bytes = models.BigIntegerField(null=True, help_text="Bytes of the copy under way done by the interval's end.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rig", "t"], name="one_sample_per_rig_interval")]

    def __str__(self) -> str:
        return f"{self.rig_id}@{self.t}"
