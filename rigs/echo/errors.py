"""Exceptions of the echo communicator, each naming the rig (or rigs) concerned."""

from __future__ import annotations


class EchoError(Exception):
    """Base class of every echo communicator error."""


class EchoTimeout(EchoError, TimeoutError):
    """A confirmed send got no echo after all its attempts."""


class ReplyTimeout(EchoError, TimeoutError):
    """A request was echoed (or not) but never answered in time."""


class RemoteError(EchoError):
    """The other side's handler failed and sent an error report `[0, "Type: message", code]`."""

    def __init__(self, rig: str, code: int | None, text: str) -> None:
        self.rig, self.code, self.text = rig, code, text
        super().__init__(f"{rig}: {text}")


class ServicesError(EchoError):
    """One or more rigs of a `Services` group failed; `failures` maps each rig's name to why."""

    def __init__(self, action: str, failures: dict[str, BaseException], responses: dict) -> None:
        self.action, self.failures, self.responses = action, failures, responses
        names = ", ".join(f"{name} ({exc})" for name, exc in failures.items())
        super().__init__(f"{action}: these rigs failed: {names}")

    @property
    def failed(self) -> list[str]:
        """The names of the rigs that failed, in the group's order."""
        return list(self.failures)


class ServicesTimeout(ServicesError, TimeoutError):
    """Every failure of the group was a rig that did not answer in time."""

    def __init__(self, action: str, failures: dict[str, BaseException], responses: dict) -> None:
        super().__init__(action, failures, responses)
        self.args = (f"{action}: these rigs did not answer in time: {', '.join(failures)}",)


class SessionError(EchoError):
    """A multi-rig session could not run (no or several main sync rigs, a rig failed...)."""

    def __init__(self, message: str, failed: list[str] | None = None) -> None:
        self.failed = failed or []
        super().__init__(message)
