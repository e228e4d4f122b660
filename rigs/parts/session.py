"""The agent's part in multi-rig sessions over iblrig's echo protocol (byte for byte), as a listening rig and as
the main rig that drives the others.

Listening: EXPINIT prepares the session folder and this device's experiment description (and registers the device
on the server when one is configured); EXPSTART starts the session's members (camera, task); EXPEND / EXPINTERRUPT
stop them, flag the session for transfer and queue it with the copier. A rig in a session refuses another one
(an error report naming the session it is in), never a silent takeover. Every lifecycle message becomes a durable
event: the session's timeline on the dashboard.

Driving: session.start runs rigs.echo.session.run_session (the sequence the command line runs too) until the
session's duration has passed or session.stop / session.interrupt ends it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rigs.config import RigConfig
from rigs.copier import RemoteError, description_merge, session_initialize
from rigs.copier.description import SPEC_VERSION
from rigs.copier.session import description_local_ensure
from rigs.echo import EchoRig, MessageEvent, Request, Services
from rigs.echo.allow import PeerAllowList
from rigs.echo.events import RecordLimiter
from rigs.echo.session import SessionControl, SessionOutcome, run_session
from rigs.layout import TRANSFER_FLAG, LayoutError, SessionRef, exp_ref_check, exp_ref_parse, subject_check
from rigs.link import CommandFailed
from rigs.messages import SESSION_ACTIVE_STATES, SessionStatus
from rigs.parts.base import Emit, SessionMember
from rigs.parts.copier import CopierPart

log = logging.getLogger(__name__)

PAYLOAD_LIMIT = 4000  # characters of a message's payload kept in its event; the wire itself is not touched
MAIN_STOP_SECONDS = 60.0
START_PARAMS = {"rigs", "subject", "exp_ref", "main_sync", "duration", "timeout"}


class SessionBusy(ValueError):
    """This rig is in another session: the main that asked is told so in the error report (a refusal, not a
    fault of the rig's: logged as one line)."""


class SessionPart:
    key = "session"

    def __init__(self, config: RigConfig, *, emit: Emit, members: Sequence[SessionMember] = (),
                 copier: CopierPart | None = None) -> None:
        self.config = config
        self._emit = emit
        self.members = list(members)
        self.copier = copier
        # Who may talk to this rig over the echo protocol: loopback, rig.yaml's echo_allow, and the echo hosts of
        # the rigs the dashboard knows (it sends them at welcome and when they change: `allow.update`).
        self.allow = PeerAllowList(config.echo_allow, name=config.name)
        # Echo traffic becomes durable events at a bounded rate per peer (a flood is summarised, not recorded).
        self.limiter = RecordLimiter(lambda peer, summary: self._emit("echo.suppressed", summary))
        self.echo = EchoRig(
            config.echo, config.name, main_sync=config.main_sync, allow=self.allow,
            on_info=self.on_info, on_init=self.on_init, on_start=self.on_start, on_stop=self.on_stop,
            on_interrupt=self.on_interrupt, on_cleanup=self.on_cleanup, on_message=self.observe,
        )
        self.state = "idle"
        self.exp_ref: str | None = None
        self.session_dir: Path | None = None
        self._main_peer: tuple[str, int] | None = None  # who started this rig's session: only it may end it
        self._main: asyncio.Task | None = None
        self._control: SessionControl | None = None
        self._main_exp_ref: str | None = None

    def actions(self) -> dict[str, Any]:
        return {"session.start": self.main_start, "session.stop": self.main_stop,
                "session.interrupt": self.main_interrupt}

    def status(self) -> SessionStatus:
        refused = self.allow.stats()
        return SessionStatus(state=self.state, exp_ref=self.exp_ref, main=self._main is not None,
                             main_exp_ref=self._main_exp_ref, echo=self.echo.uri, main_sync=self.echo.main_sync,
                             echo_refused=refused if refused["refused"] else None)

    async def start(self) -> None:
        await self.echo.start()

    async def close(self) -> None:
        if self._main is not None:
            self._control.interrupt()
            await asyncio.gather(self._main, return_exceptions=True)
        await self.echo.close()
        self.limiter.flush()

    def echo_hosts(self, hosts: list[str]) -> None:
        """The echo hosts of the rigs registered in the dashboard: they may talk to this rig."""
        self.allow.update(hosts)

    @property
    def busy(self) -> bool:
        return self.state in SESSION_ACTIVE_STATES

    # -- the listening rig's lifecycle ---------------------------------------------------------------------
    async def on_info(self, request: Request) -> dict[str, Any]:
        data = request.data if isinstance(request.data, dict) else {}
        asked = data.get("exp_ref") if isinstance(data.get("exp_ref"), str) else None
        self._refuse_if_busy(asked)
        named = data.get("main_sync")  # the dashboard names the main sync per session; others use the config
        self.echo.main_sync = named == self.config.name if isinstance(named, str) else self.config.main_sync
        if not self.echo.main_sync:
            return {"tag": self.config.device_tag}
        if asked:
            _checked_exp_ref(asked)
            return {"exp_ref": asked, "tag": self.config.device_tag}
        subject = str(data.get("subject_name") or data.get("subject") or "")
        return {"exp_ref": await asyncio.to_thread(self._next_exp_ref, subject), "tag": self.config.device_tag}

    async def on_init(self, request: Request) -> dict[str, Any]:
        exp_ref = request.exp_ref
        if not exp_ref:
            raise ValueError("EXPINIT without an exp_ref")
        ref = _checked_exp_ref(exp_ref)
        self._refuse_if_busy(exp_ref)
        if self.busy:
            return {"tag": self.config.device_tag}  # a resent EXPINIT of this very session
        self.session_dir, copy_state = await asyncio.to_thread(self._prepare, ref)
        self.state, self.exp_ref, self._main_peer = "initialized", exp_ref, request.peer
        self._emit("session.initialized", {"exp_ref": exp_ref, "path": str(self.session_dir),
                                           "tag": self.config.device_tag, "copy_state": copy_state})
        return {"tag": self.config.device_tag}

    async def on_start(self, request: Request) -> dict[str, Any] | None:
        exp_ref = request.exp_ref or self.exp_ref
        if self.state == "running" and exp_ref == self.exp_ref:
            return None  # a resent EXPSTART
        if self.state != "initialized" or exp_ref != self.exp_ref:
            raise SessionBusy(f"{self.config.name} cannot start {exp_ref}: "
                              + (f"it is in session {self.exp_ref}" if self.busy else "no EXPINIT for it came first"))
        self.state = "running"
        started: dict[str, Any] = {}
        for member in self.members:
            started.update(await member.session_started(self.session_dir, exp_ref))
        self._emit("session.started", {"exp_ref": exp_ref, **started})
        return started or None

    async def on_stop(self, request: Request) -> dict[str, Any]:
        self._refuse_if_stranger(request)
        return await self._end("stopped")

    async def on_interrupt(self, request: Request) -> dict[str, Any]:
        self._refuse_if_stranger(request)
        return await self._end("interrupted")

    async def on_cleanup(self, request: Request) -> dict[str, Any]:
        self._refuse_if_stranger(request)
        self._emit("session.cleaned_up", {"exp_ref": self.exp_ref})
        if self.state in {"stopped", "interrupted"}:
            self.state = "idle"
        return {}

    async def _end(self, how: str) -> dict[str, Any]:
        if not self.busy:
            return {}  # a repeated EXPEND: already done (handlers are idempotent)
        ended: dict[str, Any] = {}
        for member in reversed(self.members):
            try:
                ended.update(await member.session_ended())
            except Exception as exc:  # the others still stop, and the session is still flagged for copying
                log.exception("session %s: a member did not stop cleanly", self.exp_ref)
                ended.setdefault("errors", []).append(f"{type(exc).__name__}: {exc}")
        self.state = how
        await asyncio.to_thread((self.session_dir / TRANSFER_FLAG).touch)
        if self.copier is not None:
            await self.copier.queue_session(self.session_dir)
        self._emit(f"session.{how}", {"exp_ref": self.exp_ref, **ended})
        return ended

    def _refuse_if_busy(self, exp_ref: str | None) -> None:
        if self.busy and exp_ref != self.exp_ref:
            raise SessionBusy(f"{self.config.name} is in session {self.exp_ref}; end it before starting another")

    def _refuse_if_stranger(self, request: Request) -> None:
        """An end (EXPEND, EXPINTERRUPT, EXPCLEANUP) for this rig's session comes from the main that started it:
        a labweb main names the session in the message; an iblrig main is known by its address."""
        if not self.busy:
            return
        named = request.data.get("exp_ref") if isinstance(request.data, dict) else None
        if named == self.exp_ref or (named is None and request.peer == self._main_peer):
            return
        raise SessionBusy(f"{self.config.name} is in session {self.exp_ref}, started by another main; "
                          f"only that main may end it")

    def _prepare(self, ref: SessionRef) -> tuple[Path, int | None]:
        """The session folder and this device's description, registered on the server when it is reachable.
        Returns the folder and the device's copy state on the server (None when unreachable)."""
        config = self.config
        session_dir = ref.path_under(config.local_subjects or config.outbox_path.parent / "Subjects")
        session_dir.mkdir(parents=True, exist_ok=True)
        description = self.description()
        if config.remote_subjects is None:
            description_local_ensure(session_dir, config.device_tag, description)
            return session_dir, None
        try:
            report = session_initialize(session_dir, remote_subjects=config.remote_subjects, tag=config.device_tag,
                                        description=description)
        except RemoteError as exc:
            log.warning("session %s: server not reachable (%s); it registers at the transfer", ref.exp_ref, exc)
            return session_dir, None
        return session_dir, None if report.state is None else int(report.state)

    def description(self) -> dict[str, Any]:
        """This device's experiment description: every member's piece, merged as the server merges stubs."""
        pieces = [(type(m).__name__, m.description(main_sync=self.echo.main_sync)) for m in self.members]
        return description_merge(pieces, base={"version": SPEC_VERSION})

    def _next_exp_ref(self, subject: str) -> str:
        """As the main sync without a dashboard: the next free number under this rig's subjects folder, today."""
        try:
            subject_check(subject)
        except LayoutError as exc:
            raise ValueError(f"EXPINFO: {exc}") from None
        today = dt.date.today()
        day = (self.config.local_subjects or Path(".")) / subject / today.isoformat()
        numbers = [int(p.name) for p in day.glob("*") if p.is_dir() and p.name.isdigit()] if day.exists() else []
        return SessionRef(subject=subject, date=today, number=max(numbers, default=0) + 1).exp_ref

    # -- the timeline --------------------------------------------------------------------------------------
    def observe(self, event: MessageEvent) -> None:
        """Every lifecycle message this rig receives or sends becomes a durable event (the session's timeline),
        at a bounded rate per peer."""
        if not self.limiter.admit(event):
            return
        self._emit("echo.message", {
            "exp_ref": _exp_ref_in(event) or self.exp_ref or self._main_exp_ref,
            "direction": event.direction, "kind": event.kind, "message": event.name, "code": event.code,
            "peer": f"{event.peer[0]}:{event.peer[1]}", "peer_name": event.peer_name,
            "elapsed": event.elapsed, "payload": _payload_text(event.payload), "at": event.at,
            "role": "main" if event.rig != self.config.name else "rig",
        })

    # -- as the main: drive the listed rigs ----------------------------------------------------------------
    async def main_start(self, params: dict[str, Any]) -> dict[str, Any]:
        rigs, subject, duration, timeout = _start_params(params)
        if self._main is not None:
            raise CommandFailed(f"this rig already drives session {self._main_exp_ref}")
        if self.busy:
            raise CommandFailed(f"{self.config.name} is in session {self.exp_ref}; end it before starting another")
        info = {"subject_name": subject, **{k: params[k] for k in ("exp_ref", "main_sync") if params.get(k)}}
        try:
            services = await Services.connect(rigs, timeout=timeout, on_message=self.observe)
        except OSError as exc:
            raise CommandFailed(f"cannot reach the rigs: {exc}") from None
        self._control = SessionControl()
        self._main_exp_ref = params.get("exp_ref")
        self._main = asyncio.ensure_future(self._drive(services, subject, sorted(rigs), info, duration))
        return {"rigs": sorted(rigs), "exp_ref": self._main_exp_ref, "duration": duration}

    async def _drive(self, services: Services, subject: str, names: list[str], info: dict,
                     duration: float | None) -> None:
        self._emit("session.main_started", {"exp_ref": self._main_exp_ref, "rigs": names, "duration": duration})
        outcome = SessionOutcome(exp_ref=self._main_exp_ref)
        try:
            outcome = await run_session(services, subject, duration=duration, control=self._control,
                                        info_data=info, on_running=self._running)
        finally:
            services.close()
            failures = {name: str(exc) for name, exc in outcome.failures.items()}
            self._emit("session.main_ended", {
                "exp_ref": outcome.exp_ref or self._main_exp_ref, "main_sync": outcome.main_sync,
                "ended_by": outcome.ended_by, "interrupted": outcome.interrupted, "ok": outcome.ok,
                "error": outcome.error, "failures": failures,
            })
            self._main = self._control = self._main_exp_ref = None

    def _running(self, outcome: SessionOutcome) -> None:
        self._main_exp_ref = outcome.exp_ref
        self._emit("session.main_running", {"exp_ref": outcome.exp_ref, "main_sync": outcome.main_sync})

    async def main_stop(self, params: dict[str, Any], *, interrupt: bool = False) -> dict[str, Any]:
        main, control, exp_ref = self._main, self._control, self._main_exp_ref
        if main is None:
            raise CommandFailed("this rig drives no session")
        asked = params.get("exp_ref")
        if asked and exp_ref and asked != exp_ref:
            raise CommandFailed(f"this rig drives session {exp_ref}, not {asked}")
        control.interrupt() if interrupt else control.stop()
        try:
            await asyncio.wait_for(asyncio.shield(main), timeout=MAIN_STOP_SECONDS)
        except TimeoutError:
            raise CommandFailed(f"session {exp_ref} did not end within {MAIN_STOP_SECONDS:.0f} s") from None
        return {"exp_ref": exp_ref, "ended_by": "interrupt" if interrupt else "stop"}

    async def main_interrupt(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.main_stop(params, interrupt=True)


def _start_params(params: dict[str, Any]) -> tuple[dict[str, str], str, float | None, float]:
    unknown = sorted(set(params) - START_PARAMS)
    if unknown:
        raise CommandFailed(f"session.start: unknown parameter {unknown[0]!r}")
    rigs, subject = params.get("rigs"), params.get("subject")
    if not isinstance(rigs, dict) or not rigs or not all(isinstance(u, str) and u for u in rigs.values()):
        raise CommandFailed("session.start needs `rigs`: a map of rig name to echo URI")
    if not isinstance(subject, str) or not subject:
        raise CommandFailed("session.start needs `subject`")
    try:
        subject_check(subject)
        if params.get("exp_ref"):
            _checked_exp_ref(str(params["exp_ref"]))
    except (LayoutError, ValueError) as exc:
        raise CommandFailed(f"session.start: {exc}") from None
    duration = _number(params.get("duration"), "duration")
    timeout = _number(params.get("timeout"), "timeout") or 10.0
    return rigs, subject, duration, timeout


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 7 * 86400:
        raise CommandFailed(f"session.start: {name} must be a number of seconds above 0")
    return float(value)


def _checked_exp_ref(exp_ref: str) -> SessionRef:
    """An exp_ref that arrived over the network names a folder: only a well-formed one does."""
    try:
        return exp_ref_parse(exp_ref)
    except LayoutError as exc:
        raise ValueError(str(exc)) from None


def _payload_text(payload: list[Any]) -> Any:
    text = json.dumps(payload, default=str)
    return payload if len(text) <= PAYLOAD_LIMIT else text[:PAYLOAD_LIMIT] + "…"


def _exp_ref_in(event: MessageEvent) -> str | None:
    """The valid exp_ref a message names (an invalid one names nothing: it must not reach a record)."""
    payload = event.payload
    named = [payload[0]] if event.name == "EXPSTART" and payload and isinstance(payload[0], str) else []
    named += [item["exp_ref"] for item in payload if isinstance(item, dict) and isinstance(item.get("exp_ref"), str)]
    for exp_ref in named:
        try:
            return exp_ref_check(exp_ref)
        except LayoutError:
            continue
    return None
