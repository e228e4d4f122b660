"""The states a session and a rig's part in it can be in, each with its label and colour (one place for both)."""

from django.db import models

from rigs.copier.state import CopyState as DeviceCopyState


class SessionState(models.TextChoices):
    """A session's acquisition, and each rig's part in it, as the rigs reported it."""

    RESERVED = "reserved", "Number reserved"  # a number handed out (API) for a session to come; no rig reported it
    CREATED = "created", "Created"  # recorded; no rig has reported it yet
    INITIALIZED = "initialized", "Initialized"  # folders and descriptions ready (EXPINIT)
    RUNNING = "running", "Running"  # recording (EXPSTART)
    STOPPED = "stopped", "Stopped"  # ended normally (EXPEND)
    INTERRUPTED = "interrupted", "Interrupted"  # ended early (EXPINTERRUPT, a restarted agent)
    FAILED = "failed", "Failed"  # did not run: refused, a rig unreachable, no main sync

    @classmethod
    def active(cls) -> frozenset[str]:
        """States of a session that holds its rigs: no other session may take them."""
        return frozenset({cls.CREATED, cls.INITIALIZED, cls.RUNNING})

    @classmethod
    def ended(cls) -> frozenset[str]:
        return frozenset({cls.STOPPED, cls.INTERRUPTED, cls.FAILED})


class SessionOrigin(models.TextChoices):
    DASHBOARD = "dashboard", "Dashboard"
    AGENT = "agent", "Rig agent (command line or iblrig main)"


# A device's copy state on the lab server: the rig side's numbering (iblrig's), with the words the pages use.
_COPY_LABELS = {
    DeviceCopyState.NOT_REGISTERED: "Not registered",
    DeviceCopyState.PENDING: "Pending",
    DeviceCopyState.COMPLETE: "Complete",
    DeviceCopyState.FINALIZED: "Finalized",
}
CopyState = models.IntegerChoices("CopyState", [(s.name, (int(s), _COPY_LABELS[s])) for s in DeviceCopyState])

SESSION_COLOURS = {
    SessionState.RESERVED: "grey",
    SessionState.CREATED: "grey",
    SessionState.INITIALIZED: "blue",
    SessionState.RUNNING: "green",
    SessionState.STOPPED: "teal",
    SessionState.INTERRUPTED: "orange",
    SessionState.FAILED: "red",
}
COPY_COLOURS = {
    CopyState.NOT_REGISTERED: "grey",
    CopyState.PENDING: "orange",
    CopyState.COMPLETE: "blue",
    CopyState.FINALIZED: "green",
}
