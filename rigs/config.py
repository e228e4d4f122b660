"""The rig agent's configuration file (YAML, DESIGN 2a): read, checked, and every unknown key named."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_ECHO = "udp://127.0.0.1:11001"
_NAME = re.compile(r"(?a)^[A-Za-z0-9][\w.-]{0,63}\Z")


class ConfigError(ValueError):
    """The configuration file is wrong; the text says where."""


@dataclass(frozen=True)
class CameraConfig:
    source: str = "synthetic"
    shape: tuple[int, int] = (1024, 1024)
    dtype: str = "uint16"
    fps: float = 30.0


@dataclass(frozen=True)
class RigConfig:
    name: str
    kind: str
    dashboard: str | None
    token: str | None
    echo: str = DEFAULT_ECHO
    main_sync: bool = False
    local_subjects: Path | None = None
    remote_subjects: Path | None = None
    camera: CameraConfig | None = None
    spool: dict[str, Any] = field(default_factory=dict)
    state_dir: Path | None = None
    status_interval: float = 0.5
    source: Path | None = None

    @property
    def agent_url(self) -> str | None:
        return self.dashboard.rstrip("/") + "/ws/agent/" if self.dashboard else None

    @property
    def outbox_path(self) -> Path:
        base = self.state_dir or Path.home() / ".labweb-rig" / self.name
        return base / "events.sqlite3"


_TOP_KEYS = {"name", "kind", "dashboard", "token", "token_file", "echo", "main_sync", "data", "camera", "spool",
             "state_dir", "status_interval"}
_DATA_KEYS = {"local_subjects", "remote_subjects"}
_CAMERA_KEYS = {"source", "shape", "dtype", "fps"}


def _check_keys(section: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _section(data: dict, key: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key!r} must be a mapping")
    return value


def _path(value: Any, base: Path) -> Path | None:
    if value in (None, ""):
        return None
    path = Path(os.path.expanduser(str(value)))
    return path if path.is_absolute() else base / path


def _camera(data: dict) -> CameraConfig | None:
    if "camera" not in data or data["camera"] is None:
        return None
    cam = _section(data, "camera")
    _check_keys(cam, _CAMERA_KEYS, "camera")
    shape = cam.get("shape", [1024, 1024])
    if not (isinstance(shape, list | tuple) and len(shape) == 2 and all(isinstance(n, int) and n > 0 for n in shape)):
        raise ConfigError("camera.shape must be two positive integers, e.g. [1024, 1024]")
    fps = cam.get("fps", 30)
    if not isinstance(fps, int | float) or isinstance(fps, bool) or fps <= 0:
        raise ConfigError("camera.fps must be a positive number")
    return CameraConfig(source=str(cam.get("source", "synthetic")), shape=(shape[0], shape[1]),
                        dtype=str(cam.get("dtype", "uint16")), fps=float(fps))


def _token(data: dict, base: Path) -> str | None:
    if data.get("token") and data.get("token_file"):
        raise ConfigError("give either 'token' or 'token_file', not both")
    if data.get("token_file"):
        path = _path(data["token_file"], base)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"token_file {path}: {exc.strerror}") from None
    return str(data["token"]) if data.get("token") else None


def config_from_dict(data: Any, *, base: Path = Path("."), source: Path | None = None) -> RigConfig:
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a mapping of keys to values")
    _check_keys(data, _TOP_KEYS, "rig configuration")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError("'name' is required: letters, digits, '_', '.', '-' (64 at most)")
    dirs = _section(data, "data")
    _check_keys(dirs, _DATA_KEYS, "data")
    spool = _section(data, "spool")
    interval = data.get("status_interval", 0.5)
    if not isinstance(interval, int | float) or isinstance(interval, bool) or not 0.2 <= interval <= 60:
        raise ConfigError("status_interval must be between 0.2 and 60 seconds (a few statuses per second at most)")
    return RigConfig(
        name=name,
        kind=str(data.get("kind", "video")),
        dashboard=str(data["dashboard"]) if data.get("dashboard") else None,
        token=_token(data, base),
        echo=str(data.get("echo") or DEFAULT_ECHO),
        main_sync=bool(data.get("main_sync", False)),
        local_subjects=_path(dirs.get("local_subjects"), base),
        remote_subjects=_path(dirs.get("remote_subjects"), base),
        camera=_camera(data),
        spool=dict(spool),
        state_dir=_path(data.get("state_dir"), base),
        status_interval=float(interval),
        source=source,
    )


def config_load(path: Path) -> RigConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    try:
        return config_from_dict(data, base=Path(path).resolve().parent, source=Path(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
