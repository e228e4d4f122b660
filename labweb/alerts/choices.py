"""The kinds of alert, the states an alert and a notification can be in, each with its label and colour."""

from django.db import models


class AlertKind(models.TextChoices):
    """One per rule (labweb.alerts.rules); the value is the rule's name in settings, the admin and destinations."""

    RIG_OFFLINE = "rig_offline", "Rig offline"
    DISK_LOW = "disk_low", "Disk space low"
    DISK_FULL_SOON = "disk_full_soon", "Disk full soon"
    FRAMES_DROPPED = "frames_dropped", "Frames dropped"
    SPOOL_FAILED = "spool_failed", "Series failed"
    COPY_FAILED = "copy_failed", "Copy failed"
    SESSION_UNFINALIZED = "session_unfinalized", "Session not finalized"
    COPY_STALLED = "copy_stalled", "Copy stalled"
    CLOCK_SKEW = "clock_skew", "Clock off"
    ECHO_REFUSED = "echo_refused", "Echo packets refused"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"  # an operator has seen it; the condition still holds
    RESOLVED = "resolved", "Resolved"  # the condition cleared by itself

    @classmethod
    def active(cls) -> frozenset[str]:
        """States of an alert whose condition still holds: at most one such alert per condition."""
        return frozenset({cls.OPEN, cls.ACKNOWLEDGED})


ALERT_COLOURS = {AlertState.OPEN: "red", AlertState.ACKNOWLEDGED: "orange", AlertState.RESOLVED: "green"}


class DeliveryEvent(models.TextChoices):
    OPENED = "opened", "Opened"
    RESOLVED = "resolved", "Resolved"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"  # new, or failed and waiting for its next try
    SENT = "sent", "Sent"
    FAILED = "failed", "Gave up"  # every try failed


DELIVERY_COLOURS = {DeliveryState.PENDING: "orange", DeliveryState.SENT: "green", DeliveryState.FAILED: "red"}
