"""What the agent's parts are given and what they give each other: plain callables and one small protocol."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

# Record a durable event (rigs.agent.events.EventStream.emit): safe from any thread.
Emit = Callable[[str, dict[str, Any] | None], None]
# Offer a camera preview to the dashboard (not durable).
Preview = Callable[[dict[str, Any]], None]


class SessionMember(Protocol):
    """A part that records during a session (a camera, a task): it describes its share and starts and stops with
    the session. The session part calls these in order; a member that fails to start fails the EXPSTART reply."""

    def description(self, *, main_sync: bool) -> dict[str, Any]:
        """This device's piece of the session's experiment description (iblrig's shape)."""
        ...

    async def session_started(self, session_dir: Path, exp_ref: str) -> dict[str, Any]: ...

    async def session_ended(self) -> dict[str, Any]: ...
