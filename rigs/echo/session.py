"""The main rig's session sequence: EXPINFO, one main sync gives the exp_ref, then INIT, START, STATUS, END, CLEANUP."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from rigs.echo.codes import ExpStatus
from rigs.echo.errors import ServicesError, SessionError
from rigs.echo.services import Services

log = logging.getLogger(__name__)


@dataclass
class SessionOutcome:
    """How a session ended: its exp_ref, the main sync rig, whether it was interrupted, and who failed."""

    exp_ref: str | None = None
    main_sync: str | None = None
    interrupted: bool = False
    failures: dict[str, BaseException] = field(default_factory=dict)
    error: str | None = None  # the first error that ended the session early

    @property
    def ok(self) -> bool:
        return not self.failures and not self.interrupted and self.error is None


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
    stop: asyncio.Event | None = None,
    info_data: dict[str, Any] | None = None,
    concurrent: bool = True,
) -> SessionOutcome:
    """Run one session over every rig of `services` and return how it ended.

    Runs until `duration` seconds have passed or `stop` is set (a stop request interrupts the
    session: EXPINTERRUPT instead of EXPEND). On any failure, every rig is sent EXPINTERRUPT and
    EXPCLEANUP before returning; `outcome.failures` names the rigs that failed.
    """
    outcome = SessionOutcome()
    stop = stop or asyncio.Event()
    try:
        began = await _unless_stopped(_begin(services, subject, outcome, info_data or {}, concurrent), stop)
        outcome.interrupted = not began or await _run(duration, stop)
    except (ServicesError, SessionError) as exc:
        log.error("session failed: %s", exc)
        outcome.error = str(exc)
        _record(outcome, exc)
        outcome.interrupted = True
    except asyncio.CancelledError:
        outcome.interrupted = True
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


async def _unless_stopped(coro: Any, stop: asyncio.Event) -> bool:
    """Run `coro` unless `stop` is set first (then cancel it); True if it completed."""
    work = asyncio.ensure_future(coro)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
    if work.cancelled():
        return False
    work.result()  # re-raise the sequence's failure
    return True


async def _run(duration: float | None, stop: asyncio.Event) -> bool:
    """Wait for the end of the session; True if it was stopped early (an interrupt)."""
    try:
        await asyncio.wait_for(stop.wait(), duration)
    except asyncio.TimeoutError:
        return False
    return True


async def _finish(services: Services, outcome: SessionOutcome, concurrent: bool) -> None:
    """EXPEND (or EXPINTERRUPT) then EXPCLEANUP to every rig; a rig that fails one still gets the next."""
    for step, call in (
        ("stop", lambda: services.stop(immediately=outcome.interrupted, concurrent=concurrent)),
        ("cleanup", lambda: services.cleanup(concurrent=concurrent)),
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
