"""The states a record can be in, each with its label and the colour the UI shows it in."""

from django.db import models


class SessionState(models.TextChoices):
    CREATED = "created", "Created"
    INITIALIZED = "initialized", "Initialized"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    INTERRUPTED = "interrupted", "Interrupted"
    CLEANED_UP = "cleaned_up", "Cleaned up"
    FAILED = "failed", "Failed"

    @classmethod
    def terminal(cls) -> frozenset[str]:
        """States a session does not leave by itself."""
        return frozenset({cls.STOPPED, cls.INTERRUPTED, cls.CLEANED_UP, cls.FAILED})


class SessionOrigin(models.TextChoices):
    DASHBOARD = "dashboard", "Dashboard"
    AGENT = "agent", "Rig agent (command line or iblrig main)"


class CopyState(models.IntegerChoices):
    """A device's copy state on the lab server, as iblrig's SessionCopier counts it."""

    NOT_REGISTERED = 0, "Not registered"
    PENDING = 1, "Pending"
    COMPLETE = 2, "Complete"
    FINAL = 3, "Finalized"


STATE_COLOURS = {
    SessionState.CREATED: "grey",
    SessionState.INITIALIZED: "blue",
    SessionState.RUNNING: "green",
    SessionState.STOPPED: "teal",
    SessionState.INTERRUPTED: "orange",
    SessionState.CLEANED_UP: "teal",
    SessionState.FAILED: "red",
}
