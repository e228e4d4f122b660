"""The states of the fleet's records, each with its label and the colour the UI shows it in."""

from django.db import models

from rigs.messages import COPYING, IDLE, OFFLINE, SESSION, SPOOLING


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


# What a rig is doing (rigs.messages.rig_state gives the state; this gives its word and colour on every page).
RIG_STATES = {
    OFFLINE: ("Offline", "red"),
    IDLE: ("Idle", "grey"),
    SESSION: ("In a session", "blue"),
    SPOOLING: ("Spooling", "green"),
    COPYING: ("Copying", "teal"),
}
