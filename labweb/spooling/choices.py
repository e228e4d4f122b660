"""The outcomes a spool run can have, each with its label and the colour the UI shows it in."""

from django.db import models


class SpoolOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    OK = "ok", "Complete"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused by preflight"

    @classmethod
    def terminal(cls) -> frozenset[str]:
        """Outcomes a later event never turns back into running."""
        return frozenset({cls.OK, cls.FAILED, cls.REFUSED})


OUTCOME_COLOURS = {
    SpoolOutcome.RUNNING: "blue",
    SpoolOutcome.OK: "green",
    SpoolOutcome.FAILED: "red",
    SpoolOutcome.REFUSED: "orange",
}
