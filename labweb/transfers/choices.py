"""The outcomes a transfer record can have, each with its label and colour."""

from django.db import models


class TransferOutcome(models.TextChoices):
    RUNNING = "running", "Copying"
    COMPLETE = "complete", "Copied"  # this device's share is on the server, verified
    FINALIZED = "finalized", "Copied, finalized"  # ... and this copy completed the session and finalized it
    FAILED = "failed", "Failed"
    DRY = "dry", "Dry run"

    @classmethod
    def succeeded(cls) -> frozenset[str]:
        """Outcomes whose files are on the server, verified."""
        return frozenset({cls.COMPLETE, cls.FINALIZED})


class TransferTrigger(models.TextChoices):
    OPERATOR = "operator", "Operator command"
    SESSION = "session", "Session end"
    SCHEDULE = "schedule", "Schedule"


OUTCOME_COLOURS = {
    TransferOutcome.RUNNING: "blue",
    TransferOutcome.COMPLETE: "teal",
    TransferOutcome.FINALIZED: "green",
    TransferOutcome.FAILED: "red",
    TransferOutcome.DRY: "grey",
}
