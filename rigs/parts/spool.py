"""The agent's camera spooler: spool.start / spool.stop / preview.request, live counters and previews."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rigs.link import CommandFailed
from rigs.spool import PreflightError, SpoolBusy, SpoolController, png_bytes, source_from_config

if TYPE_CHECKING:
    from rigs.agent import Agent

log = logging.getLogger(__name__)

# What an operator may set from the dashboard; the directory stays the rig's own business.
REMOTE_SETTINGS = {"compression", "max_frames", "subdirectory", "series_pattern", "preflight", "metadata", "swmr"}
PREVIEW_SIZE = 256
PREVIEW_SECONDS = 1.0
ACTIVE_STATES = {"running", "stopping"}


class SpoolPart:
    def __init__(self, agent: "Agent") -> None:
        camera = agent.config.camera
        self.agent = agent
        self.defaults = dict(agent.config.spool)
        source = source_from_config({"source": camera.source, "shape": list(camera.shape), "dtype": camera.dtype,
                                     "fps": camera.fps})
        self.controller = SpoolController(source, rig=agent.config.name, on_event=self._event)
        self._preview_task: asyncio.Task | None = None
        self._exp_ref: str | None = None

    def _event(self, name: str, data: dict[str, Any]) -> None:
        """Spooler events go out durably, with the session's exp_ref so the dashboard links the series to it."""
        if self._exp_ref and "exp_ref" not in data:
            data = {**data, "exp_ref": self._exp_ref}
        self.agent.emit(name, data)

    def install(self) -> None:
        self.agent.add_action("spool.start", self.start)
        self.agent.add_action("spool.stop", self.stop)
        self.agent.add_action("preview.request", self.preview_now)
        self.agent.add_status("spool", self.status)
        self.agent.add_closer(self.close)

    def default_directory(self) -> str:
        base = self.agent.config.local_subjects
        root = base.parent / "spool" if base else self.agent.config.outbox_path.parent / "spool"
        return str(root / "%(year)04d-%(month)02d-%(day)02d")

    def settings(self, params: dict[str, Any], *, directory: Path | None = None, exp_ref: str | None = None) -> dict:
        unknown = sorted(set(params) - REMOTE_SETTINGS)
        if unknown:
            raise CommandFailed(f"spool.start: {unknown[0]!r} cannot be set remotely (allowed: {', '.join(sorted(REMOTE_SETTINGS))})")
        settings = {**self.defaults, **params}
        settings.setdefault("directory", self.default_directory())
        if directory is not None:
            settings["directory"] = str(directory)
        if exp_ref:
            settings["exp_ref"] = exp_ref
        return settings

    async def start(self, params: dict[str, Any], *, directory: Path | None = None, exp_ref: str | None = None) -> dict:
        settings = self.settings(params, directory=directory, exp_ref=exp_ref)
        self._exp_ref = exp_ref
        try:
            status = await asyncio.to_thread(self.controller.start, settings)
        except PreflightError as exc:
            raise CommandFailed(f"preflight refused the series: {exc}") from None
        except SpoolBusy:
            raise CommandFailed("already spooling: stop the current series first") from None
        except ValueError as exc:
            raise CommandFailed(f"bad spool settings: {exc}") from None
        except OSError as exc:
            raise CommandFailed(f"cannot start the series: {exc}") from None
        self.agent.activity = f"spooling {Path(status['file']).name}" if status.get("file") else "spooling"
        self._preview_task = asyncio.ensure_future(self._preview_loop())
        return {"file": status.get("file"), "compression": status.get("compression")}

    async def stop(self, params: dict[str, Any] | None = None) -> dict:
        if self.controller.status()["state"] not in ACTIVE_STATES:
            raise CommandFailed("not spooling")
        result = await asyncio.to_thread(self.controller.stop)
        self.agent.activity = ""
        return {k: (result or {}).get(k) for k in ("file", "frames", "dropped", "ratio", "outcome", "error")}

    def status(self) -> dict[str, Any]:
        status = self.controller.status()
        status["active"] = status["state"] in ACTIVE_STATES
        status["rig_state"] = "spooling"
        return status

    async def preview_now(self, params: dict[str, Any] | None = None) -> dict:
        message = await asyncio.to_thread(self._preview_message)
        if message is None:
            raise CommandFailed("no frame yet: start spooling first")
        self.agent.preview(message)
        return {"width": message["width"], "height": message["height"]}

    def _preview_message(self) -> dict | None:
        frame = self.controller.preview(PREVIEW_SIZE)
        if frame is None:
            return None
        png = base64.b64encode(png_bytes(frame)).decode("ascii")
        return {"time": time.time(), "png": png, "width": int(frame.shape[1]), "height": int(frame.shape[0])}

    async def _preview_loop(self) -> None:
        """About once a second while a series runs: a small preview for the dashboard (never durable)."""
        while self.controller.status()["state"] in ACTIVE_STATES:
            message = await asyncio.to_thread(self._preview_message)
            if message is not None:
                self.agent.preview(message)
            await asyncio.sleep(PREVIEW_SECONDS)
        self.agent.activity = ""

    async def close(self) -> None:
        if self.controller.status()["state"] in ACTIVE_STATES:
            log.info("stopping the running series before the agent exits")
        await asyncio.to_thread(self.controller.close)
        if self._preview_task is not None:
            self._preview_task.cancel()


def install(agent: "Agent") -> SpoolPart | None:
    if agent.config.camera is None:
        return None
    part = SpoolPart(agent)
    part.install()
    return part
