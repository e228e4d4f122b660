"""The agent's part in multi-rig sessions: it listens on its echo URI (iblrig's protocol, byte for byte), acts on
the lifecycle, reports every lifecycle message as a durable event, and can be the main that drives the others.

Lifecycle: EXPINIT prepares the session folder and the rig's experiment description (and registers the device
on the server when one is configured); EXPSTART starts spooling where the rig has a camera; EXPEND / EXPINTERRUPT
stop it, flag the session for transfer and queue it with the copier part when there is one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rigs.echo import EchoRig, ExpStatus, MessageEvent, Request, Services, ServicesError, SessionError, select_main_sync
from rigs.layout import LayoutError, SessionRef, exp_ref_parse, subject_check
from rigs.link import CommandFailed

if TYPE_CHECKING:
    from rigs.agent import Agent

log = logging.getLogger(__name__)

PAYLOAD_LIMIT = 4000  # characters of a message's payload kept in its event; the wire itself is not touched
VIDEO_COLLECTION = "raw_video_data"
TRANSFER_FLAG = "transfer_me.flag"


def _payload_text(payload: list[Any]) -> Any:
    text = json.dumps(payload, default=str)
    return payload if len(text) <= PAYLOAD_LIMIT else text[:PAYLOAD_LIMIT] + "…"


def _exp_ref_in(event: MessageEvent) -> str | None:
    payload = event.payload
    if event.name == "EXPSTART" and payload and isinstance(payload[0], str):
        return payload[0]
    for item in payload:
        if isinstance(item, dict) and isinstance(item.get("exp_ref"), str):
            return item["exp_ref"]
    return None


class SessionPart:
    def __init__(self, agent: "Agent") -> None:
        self.agent = agent
        config = agent.config
        self.echo = EchoRig(
            config.echo, config.name, main_sync=config.main_sync,
            on_info=self.on_info, on_init=self.on_init, on_start=self.on_start, on_stop=self.on_stop,
            on_interrupt=self.on_interrupt, on_cleanup=self.on_cleanup, on_message=self.observe,
        )
        self.state = "idle"
        self.session_dir: Path | None = None
        self._main: asyncio.Task | None = None
        self._main_stop: asyncio.Event | None = None
        self._main_exp_ref: str | None = None

    def install(self) -> None:
        self.agent.add_starter(self.echo.start)
        self.agent.add_closer(self.close)
        self.agent.add_status("session", self.status)
        self.agent.add_action("session.start", self.main_start)
        self.agent.add_action("session.stop", self.main_stop)
        self.agent.add_action("session.interrupt", self.main_interrupt)

    # -- what the dashboard sees ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        active = self.state in {"initialized", "running"} or self._main is not None
        return {"active": active, "rig_state": "session", "state": self.state, "exp_ref": self.echo.exp_ref,
                "main": self._main is not None, "echo": self.echo.uri, "main_sync": self.echo.main_sync}

    def observe(self, event: MessageEvent) -> None:
        """Every lifecycle message this rig receives or sends becomes a durable event (the session's timeline)."""
        self.agent.emit("echo.message", {
            "exp_ref": _exp_ref_in(event) or self.echo.exp_ref or self._main_exp_ref,
            "direction": event.direction, "kind": event.kind, "message": event.name, "code": event.code,
            "peer": f"{event.peer[0]}:{event.peer[1]}", "peer_name": event.peer_name,
            "elapsed": event.elapsed, "payload": _payload_text(event.payload), "at": event.at,
            "role": "main" if event.rig != self.agent.config.name else "rig",
        })

    # -- the listening rig's lifecycle ---------------------------------------------------------------------
    async def on_info(self, request: Request) -> dict[str, Any]:
        data = request.data if isinstance(request.data, dict) else {}
        named = data.get("main_sync")  # the dashboard names the main sync per session; others use the config
        self.echo.main_sync = named == self.agent.config.name if isinstance(named, str) else self.agent.config.main_sync
        if not self.echo.main_sync:
            return {"tag": self.agent.config.kind}
        exp_ref = data.get("exp_ref") or self._next_exp_ref(str(data.get("subject_name") or data.get("subject") or ""))
        return {"exp_ref": exp_ref, "tag": self.agent.config.kind}

    def _next_exp_ref(self, subject: str) -> str:
        """As the main sync without a dashboard: the next free number under this rig's subjects folder, today."""
        try:
            subject_check(subject)
        except LayoutError as exc:
            raise ValueError(f"EXPINFO: {exc}") from None
        today = dt.date.today()
        day = (self.agent.config.local_subjects or Path(".")) / subject / today.isoformat()
        numbers = [int(p.name) for p in day.glob("*") if p.is_dir() and p.name.isdigit()] if day.exists() else []
        return SessionRef(subject=subject, date=today, number=max(numbers, default=0) + 1).exp_ref

    async def on_init(self, request: Request) -> dict[str, Any]:
        exp_ref = request.exp_ref
        if not exp_ref:
            raise ValueError("EXPINIT without an exp_ref")
        self.session_dir = await asyncio.to_thread(self._prepare, exp_ref)
        self.state = "initialized"
        self.agent.activity = f"session {exp_ref}"
        self.agent.emit("session.initialized", {"exp_ref": exp_ref, "path": str(self.session_dir),
                                                "tag": self.agent.config.kind})
        return {"tag": self.agent.config.kind}

    def _prepare(self, exp_ref: str) -> Path:
        """The session folder and this device's description; registered on the server when one is reachable."""
        from rigs.copier import RemoteError, session_initialize
        from rigs.copier.session import description_local_ensure

        ref = exp_ref_parse(exp_ref)
        config = self.agent.config
        session_dir = ref.path_under(config.local_subjects or config.outbox_path.parent / "Subjects")
        session_dir.mkdir(parents=True, exist_ok=True)
        description = self._description()
        if config.remote_subjects is None:
            description_local_ensure(session_dir, config.kind, description)
            return session_dir
        try:
            session_initialize(session_dir, remote_subjects=config.remote_subjects, tag=config.kind,
                               description=description)
        except RemoteError as exc:
            log.warning("session %s: server not reachable (%s); it registers at the transfer", exp_ref, exc)
        return session_dir

    def _description(self) -> dict[str, Any]:
        kind = self.agent.config.kind
        description: dict[str, Any] = {"devices": {kind: {self.agent.config.name: {}}}, "version": "1.0.0"}
        if self.agent.config.camera is not None:
            description["devices"] = {"cameras": {self.agent.config.name: {}}}
            description["collections"] = {"raw_video_data": VIDEO_COLLECTION}
        return description

    async def on_start(self, request: Request) -> dict[str, Any] | None:
        spool = self.agent.parts.get("spool")
        self.state = "running"
        extra = None
        if spool is not None and self.session_dir is not None:
            result = await spool.start({}, directory=self.session_dir / VIDEO_COLLECTION, exp_ref=request.exp_ref)
            extra = {"file": result.get("file")}
        self.agent.emit("session.started", {"exp_ref": request.exp_ref, **(extra or {})})
        return extra

    async def on_stop(self, request: Request) -> dict[str, Any]:
        return await self._end("stopped")

    async def on_interrupt(self, request: Request) -> dict[str, Any]:
        return await self._end("interrupted")

    async def _end(self, how: str) -> dict[str, Any]:
        if self.state not in {"initialized", "running"}:
            return {}  # a repeated EXPEND: already done (handlers are idempotent)
        spool = self.agent.parts.get("spool")
        result: dict[str, Any] = {}
        if spool is not None and spool.status()["active"]:
            stopped = await spool.stop({})
            result = {"frames": stopped.get("frames"), "dropped": stopped.get("dropped")}
        self.state = how
        self.agent.activity = ""
        if self.session_dir is not None:
            await asyncio.to_thread((self.session_dir / TRANSFER_FLAG).touch)
            copier = self.agent.parts.get("copier")
            if copier is not None:
                await copier.queue_session(self.session_dir)
        self.agent.emit(f"session.{how}", {"exp_ref": self.echo.exp_ref, **result})
        return result

    async def on_cleanup(self, request: Request) -> dict[str, Any]:
        self.agent.emit("session.cleaned_up", {"exp_ref": self.echo.exp_ref})
        if self.state in {"stopped", "interrupted"}:
            self.state = "idle"
        return {}

    # -- as the main: drive the listed rigs ----------------------------------------------------------------
    async def main_start(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._main is not None:
            raise CommandFailed(f"this rig already drives session {self._main_exp_ref}")
        rigs = params.get("rigs")
        subject = params.get("subject")
        if not isinstance(rigs, dict) or not rigs or not all(isinstance(u, str) and u for u in rigs.values()):
            raise CommandFailed("session.start needs `rigs`: a map of rig name to echo URI")
        if not isinstance(subject, str) or not subject:
            raise CommandFailed("session.start needs `subject`")
        info = {"subject_name": subject, **{k: params[k] for k in ("exp_ref", "main_sync") if params.get(k)}}
        try:
            services = await Services.connect(rigs, timeout=float(params.get("timeout", 10)), on_message=self.observe)
        except OSError as exc:
            raise CommandFailed(f"cannot reach the rigs: {exc}") from None
        self._main_stop = asyncio.Event()
        self._main_interrupt = False
        self._main_exp_ref = params.get("exp_ref")
        self._main = asyncio.ensure_future(self._drive(services, sorted(rigs), info))
        return {"rigs": sorted(rigs), "exp_ref": self._main_exp_ref}

    async def _drive(self, services: Services, names: list[str], info: dict) -> None:
        """INFO, INIT, START, STATUS; then, when told, END (or INTERRUPT) and CLEANUP to every rig."""
        self.agent.emit("session.main_started", {"exp_ref": self._main_exp_ref, "rigs": names})
        outcome: dict[str, Any] = {"exp_ref": self._main_exp_ref, "failures": {}, "error": None}
        try:
            try:
                replies = await services.info(ExpStatus.CONNECTED, info)
                outcome["main_sync"], exp_ref = select_main_sync(replies)
                self._main_exp_ref = outcome["exp_ref"] = exp_ref
                await services.init({"exp_ref": exp_ref})
                await services.start(exp_ref)
                await services.status(ExpStatus.RUNNING)
                self.agent.emit("session.main_running", {"exp_ref": exp_ref, "main_sync": outcome["main_sync"]})
                await self._main_stop.wait()
            except (ServicesError, SessionError) as exc:
                outcome["error"] = str(exc)
                outcome["failures"].update({n: str(e) for n, e in getattr(exc, "failures", {}).items()})
                self._main_interrupt = True
            await self._finish(services, outcome)
        finally:
            services.close()
            self.agent.emit("session.main_ended", {**outcome, "interrupted": self._main_interrupt,
                                                   "ok": not outcome["failures"] and not outcome["error"]})
            self._main = self._main_stop = self._main_exp_ref = None

    async def _finish(self, services: Services, outcome: dict[str, Any]) -> None:
        for step in ("stop", "cleanup"):
            try:
                if step == "stop":
                    await services.stop(immediately=self._main_interrupt)
                else:
                    await services.cleanup()
            except ServicesError as exc:
                outcome["failures"].update({n: str(e) for n, e in exc.failures.items()})

    async def main_stop(self, params: dict[str, Any], *, interrupt: bool = False) -> dict[str, Any]:
        if self._main is None:
            raise CommandFailed("this rig drives no session")
        self._main_interrupt = interrupt
        self._main_stop.set()
        exp_ref = self._main_exp_ref
        await asyncio.wait_for(asyncio.shield(self._main), timeout=60)
        return {"exp_ref": exp_ref}

    async def main_interrupt(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.main_stop(params, interrupt=True)

    async def close(self) -> None:
        if self._main is not None:
            self._main_interrupt = True
            self._main_stop.set()
            await asyncio.gather(self._main, return_exceptions=True)
        await self.echo.close()


def install(agent: "Agent") -> SessionPart:
    part = SessionPart(agent)
    part.install()
    return part
