"""The states of the fleet's records, each with its label and the colour the UI shows it in."""

from django.db import models


class CommandState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent to the rig"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused"
    UNANSWERED = "unanswered", "No answer"

    @classmethod
    def terminal(cls) -> frozenset[str]:
        return frozenset({cls.SUCCEEDED, cls.FAILED, cls.REFUSED, cls.UNANSWERED})


COMMAND_COLOURS = {
    CommandState.PENDING: "grey",
    CommandState.SENT: "blue",
    CommandState.SUCCEEDED: "green",
    CommandState.FAILED: "red",
    CommandState.REFUSED: "red",
    CommandState.UNANSWERED: "orange",
}
