"""The agent's camera: spool.start / spool.stop / preview.request from the dashboard, live counters and previews,
and the camera's share of a session (a series in the session's raw_video_data, the camera's description)."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from pathlib import Path
from typing import Any

from rigs.config import CameraConfig
from rigs.copier.description import VIDEO_COLLECTION, camera_stub
from rigs.link import CommandFailed
from rigs.messages import SpoolStatus
from rigs.parts.base import Emit, Preview
from rigs.spool import PreflightError, SpoolBusy, SpoolController, png_bytes, source_from_config

log = logging.getLogger(__name__)

# What an operator may set from the dashboard; the directory stays the rig's own business.
REMOTE_SETTINGS = {"compression", "max_frames", "subdirectory", "series_pattern", "preflight", "metadata", "swmr"}
PREVIEW_SIZE = 256
PREVIEW_SECONDS = 1.0


class SpoolPart:
    key = "spool"

    def __init__(self, camera: CameraConfig, *, rig: str, defaults: dict[str, Any], spool_root: Path, emit: Emit,
                 preview: Preview) -> None:
        self.camera = camera
        self.defaults = dict(defaults)
        self.spool_root = spool_root
        self._emit, self._preview = emit, preview
        self.controller = SpoolController(source_from_config(camera.source_config()), rig=rig, on_event=self._event)
        self._preview_task: asyncio.Task | None = None
        self._exp_ref: str | None = None

    def actions(self) -> dict[str, Any]:
        return {"spool.start": self.spool_start, "spool.stop": self.spool_stop, "preview.request": self.preview_now}

    def status(self) -> SpoolStatus:
        return self.controller.status()

    async def start(self) -> None:
        """Nothing to open until a series starts: the camera is opened per series."""

    async def close(self) -> None:
        if self.status().active:
            log.info("stopping the running series before the agent exits")
        await asyncio.to_thread(self.controller.close)
        if self._preview_task is not None:
            self._preview_task.cancel()

    # -- commands ------------------------------------------------------------------------------------------
    async def spool_start(self, params: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - REMOTE_SETTINGS)
        if unknown:
            raise CommandFailed(f"spool.start: {unknown[0]!r} cannot be set remotely "
                                f"(allowed: {', '.join(sorted(REMOTE_SETTINGS))})")
        directory = self.spool_root / "%(year)04d-%(month)02d-%(day)02d"
        return await self._start({**self.defaults, "directory": str(directory), **params}, exp_ref=None)

    async def spool_stop(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self.status().active:
            raise CommandFailed("not spooling")
        return await self._stop()

    async def preview_now(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The latest frame of the running series; with none running, one frame fresh from the camera."""
        if self.status().active:
            message = await asyncio.to_thread(self._preview_message)
        else:
            message = await asyncio.to_thread(self._check_camera)
        if message is None:
            raise CommandFailed("the camera gave no frame: is it connected and triggered?")
        self._preview(message)
        return {"width": message["width"], "height": message["height"], "checked": not self.status().active}

    # -- the camera's share of a session -------------------------------------------------------------------
    def description(self, *, main_sync: bool) -> dict[str, Any]:
        height, width = self.camera.shape
        settings = {"fps": self.camera.fps, "width": width, "height": height}
        return camera_stub({self.camera.label: settings}, collection=VIDEO_COLLECTION)

    async def session_started(self, session_dir: Path, exp_ref: str) -> dict[str, Any]:
        settings = {**self.defaults, "directory": str(session_dir / VIDEO_COLLECTION), "subdirectory": "",
                    "series_pattern": f"_labweb_{self.camera.label}Camera.raw"}
        started = await self._start(settings, exp_ref=exp_ref)
        return {"file": started["file"]}

    async def session_ended(self) -> dict[str, Any]:
        if not self.status().active:
            return {}
        stopped = await self._stop()
        return {"frames": stopped.get("frames"), "dropped": stopped.get("dropped")}

    # -- internals -----------------------------------------------------------------------------------------
    async def _start(self, settings: dict[str, Any], *, exp_ref: str | None) -> dict[str, Any]:
        if exp_ref:
            settings["exp_ref"] = exp_ref
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
        self._preview_task = asyncio.ensure_future(self._preview_loop())
        return {"file": status.file, "compression": status.compression}

    async def _stop(self) -> dict[str, Any]:
        result = await asyncio.to_thread(self.controller.stop) or {}
        return {k: result.get(k) for k in ("file", "frames", "dropped", "ratio", "outcome", "error")}

    def _event(self, name: str, data: dict[str, Any]) -> None:
        """Spooler events go out durably, with the session's exp_ref so the dashboard links the series to it."""
        if self._exp_ref and "exp_ref" not in data:
            data = {**data, "exp_ref": self._exp_ref}
        self._emit(name, data)

    def _preview_message(self) -> dict[str, Any] | None:
        return _message(self.controller.preview(PREVIEW_SIZE))

    def _check_camera(self) -> dict[str, Any] | None:
        try:
            return _message(self.controller.check_camera(PREVIEW_SIZE))
        except SpoolBusy:
            return self._preview_message()  # a series started meanwhile: its preview is the camera

    async def _preview_loop(self) -> None:
        """About once a second while a series runs: a small preview for the dashboard (never durable)."""
        while self.status().active:
            message = await asyncio.to_thread(self._preview_message)
            if message is not None:
                self._preview(message)
            await asyncio.sleep(PREVIEW_SECONDS)


def _message(frame) -> dict[str, Any] | None:
    if frame is None:
        return None
    png = base64.b64encode(png_bytes(frame)).decode("ascii")
    return {"time": time.time(), "png": png, "width": int(frame.shape[1]), "height": int(frame.shape[0])}
