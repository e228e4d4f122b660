"""The main rig's session sequence, the one both `labweb-rig session` and the agent run.

EXPINFO to every rig (exactly one main sync answers with the exp_ref), EXPINIT, EXPSTART, EXPSTATUS; then the
session runs until its duration has passed or it is told to end: `stop` ends it with EXPEND, `interrupt` with
EXPINTERRUPT; EXPCLEANUP follows either way. On any failure every rig is sent EXPINTERRUPT and EXPCLEANUP.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rigs.echo.codes import ExpStatus
from rigs.echo.errors import ServicesError, SessionError
from rigs.echo.services import Services

log = logging.getLogger(__name__)

# How a session ended (SessionOutcome.ended_by).
DURATION, STOP, INTERRUPT, ERROR, CANCELLED = "duration", "stop", "interrupt", "error", "cancelled"


@dataclass
class SessionOutcome:
    """How a session ended: its exp_ref, the main sync rig, why it ended, and who failed."""

    exp_ref: str | None = None
    main_sync: str | None = None
    ended_by: str | None = None  # duration | stop | interrupt | error | cancelled
    failures: dict[str, BaseException] = field(default_factory=dict)
    error: str | None = None  # the first error that ended the session early

    @property
    def interrupted(self) -> bool:
        """The rigs were sent EXPINTERRUPT rather than EXPEND."""
        return self.ended_by not in (DURATION, STOP)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.interrupted and self.error is None


class SessionControl:
    """Tells a session to end: `stop()` ends it normally (EXPEND) once every rig runs, even when asked while it
    is still starting; `interrupt()` ends it at once (EXPINTERRUPT), cutting a start short. An interrupt
    overrides a stop that has not been acted on yet."""

    def __init__(self) -> None:
        self._ended = asyncio.Event()
        self._interrupted = asyncio.Event()
        self.how: str | None = None

    def stop(self) -> None:
        self.how = self.how or STOP
        self._ended.set()

    def interrupt(self) -> None:
        self.how = INTERRUPT
        self._ended.set()
        self._interrupted.set()

    @property
    def requested(self) -> bool:
        return self._ended.is_set()

    async def wait(self) -> None:
        await self._ended.wait()

    async def wait_interrupt(self) -> None:
        await self._interrupted.wait()


OnRunning = Callable[[SessionOutcome], Awaitable[None] | None]


def select_main_sync(responses: dict[str, list[Any]]) -> tuple[str, str]:
    """Return (rig name, exp_ref) of the one EXPINFO reply `[status, {main_sync: true, exp_ref}]`.

    Raises `SessionError` when no rig or several rigs claim to be the main sync, or it gave no exp_ref.
    """
    claims = [name for name, payload in responses.items() if _info_data(payload).get("main_sync") is True]
    if len(claims) != 1:
        which = f"several rigs ({', '.join(claims)})" if claims else "no rig"
        raise SessionError(f"exactly one rig must answer EXPINFO with main_sync: true; {which} did", claims)
    name = claims[0]
    exp_ref = _info_data(responses[name]).get("exp_ref")
    if not isinstance(exp_ref, str) or not exp_ref:
        raise SessionError(f"the main sync rig {name} gave no exp_ref", [name])
    return name, exp_ref


def _info_data(payload: list[Any]) -> dict:
    data = payload[1] if len(payload) > 1 else None
    return data if isinstance(data, dict) else {}


async def run_session(
    services: Services,
    subject: str,
    *,
    duration: float | None = None,
    control: SessionControl | None = None,
    info_data: dict[str, Any] | None = None,
    concurrent: bool = True,
    on_running: OnRunning | None = None,
) -> SessionOutcome:
    """Run one session over every rig of `services` and return how it ended.

    Runs until `duration` seconds have passed (EXPEND) or `control` says stop (EXPEND) or interrupt
    (EXPINTERRUPT); an interrupt cuts the start short, a stop waits for it. `on_running(outcome)` is called
    once every rig confirmed RUNNING (outcome.exp_ref is known then). On any failure every rig is sent
    EXPINTERRUPT and EXPCLEANUP; `outcome.failures` names the rigs that failed.
    """
    outcome = SessionOutcome()
    control = control or SessionControl()
    try:
        if await _unless_ended(_begin(services, subject, outcome, info_data or {}, concurrent), control):
            if on_running is not None:
                await _call(on_running, outcome)
            outcome.ended_by = await _run(duration, control)
        else:
            outcome.ended_by = INTERRUPT
    except (ServicesError, SessionError) as exc:
        log.error("session failed: %s", exc)
        outcome.error, outcome.ended_by = str(exc), ERROR
        _record(outcome, exc)
    except asyncio.CancelledError:
        outcome.ended_by = CANCELLED
        await _finish(services, outcome, concurrent)
        raise
    await _finish(services, outcome, concurrent)
    return outcome


async def _begin(services: Services, subject: str, outcome: SessionOutcome, info_data: dict, concurrent: bool) -> None:
    responses = await services.info(ExpStatus.CONNECTED, {"subject_name": subject, **info_data}, concurrent=concurrent)
    outcome.main_sync, outcome.exp_ref = select_main_sync(responses)
    log.info("main sync %s gives exp_ref %s", outcome.main_sync, outcome.exp_ref)
    await services.init({"exp_ref": outcome.exp_ref}, concurrent=concurrent)
    await services.start(outcome.exp_ref, concurrent=concurrent)
    await services.status(ExpStatus.RUNNING, concurrent=concurrent)


async def _unless_ended(coro: Any, control: SessionControl) -> bool:
    """Run `coro` unless `control` interrupts the session first (then cancel it); True if it completed."""
    work = asyncio.ensure_future(coro)
    ender = asyncio.ensure_future(control.wait_interrupt())
    try:
        await asyncio.wait({work, ender}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ender.cancel()
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
    if work.cancelled():
        return False
    work.result()  # re-raise the sequence's failure
    return True


async def _run(duration: float | None, control: SessionControl) -> str:
    """Wait for the end of the session; how it ended (duration, stop or interrupt)."""
    try:
        await asyncio.wait_for(control.wait(), duration)
    except TimeoutError:
        return DURATION
    return control.how or STOP


async def _call(hook: OnRunning, outcome: SessionOutcome) -> None:
    """A hook that fails is logged; it never ends the session."""
    try:
        result = hook(outcome)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("session %s: the on_running hook failed", outcome.exp_ref)


async def _finish(services: Services, outcome: SessionOutcome, concurrent: bool) -> None:
    """EXPEND (or EXPINTERRUPT) then EXPCLEANUP to every rig; a rig that fails one still gets the next.

    Both name the session (`{"exp_ref": ...}`, iblutil's free data), so a rig in another main's session can tell
    this end is not for it."""
    data = {"exp_ref": outcome.exp_ref} if outcome.exp_ref else None
    for step, call in (
        ("stop", lambda: services.stop(data, immediately=outcome.interrupted, concurrent=concurrent)),
        ("cleanup", lambda: services.cleanup(data, concurrent=concurrent)),
    ):
        try:
            await call()
        except ServicesError as exc:
            log.error("session %s: %s", step, exc)
            _record(outcome, exc)


def _record(outcome: SessionOutcome, exc: Exception) -> None:
    if isinstance(exc, ServicesError):
        for name, error in exc.failures.items():
            outcome.failures.setdefault(name, error)
    else:
        for name in getattr(exc, "failed", []):
            outcome.failures.setdefault(name, exc)
