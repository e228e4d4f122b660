"""The rig agent's configuration file (YAML, DESIGN 2a): read, checked, and every unknown key named."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rigs.copier.hashes import hasher_new
from rigs.layout import LayoutError, tag_check
from rigs.spool.settings import SpoolSettings
from rigs.spool.sources import COMMON_KEYS, source_class

DEFAULT_ECHO = "udp://127.0.0.1:11001"
_NAME = re.compile(r"(?a)^[A-Za-z0-9][\w.-]{0,63}\Z")
_LABEL = re.compile(r"[\w-]{1,64}")
_PROTOCOL = re.compile(r"[\w.-]{1,128}")


class ConfigError(ValueError):
    """The configuration file is wrong; the text says where."""


@dataclass(frozen=True)
class CameraConfig:
    source: str = "synthetic"
    shape: tuple[int, int] = (1024, 1024)
    dtype: str = "uint16"
    fps: float = 30.0
    label: str = ""  # the camera's name in session descriptions (iblrig: left, right, body); default: the rig's
    options: dict[str, Any] = field(default_factory=dict)  # the source's own options (see FrameSource.options)

    def source_config(self) -> dict[str, Any]:
        """The mapping rigs.spool.sources.source_from_config takes."""
        return {"source": self.source, "shape": list(self.shape), "dtype": self.dtype, "fps": self.fps, **self.options}


@dataclass(frozen=True)
class TaskConfig:
    """A behaviour rig's task, run inside each session: its protocol, where its data go, what it is part of."""

    protocol: str
    collection: str = "raw_task_data_00"
    source: str = "simulated"  # simulated: trials written at a steady pace (for the demo and for tests)
    trial_seconds: float = 2.0
    procedures: tuple[str, ...] = ()  # Alyx procedures, e.g. "Behavior training/tasks"
    projects: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransferConfig:
    """How the agent copies sessions to the lab server (used only when data.remote_subjects is set)."""

    expected_devices: int | None = None  # devices to wait for before finalizing; None counts the stubs present
    schedule_minutes: float | None = None  # also look for flagged sessions this often; None: only on demand
    cleanup_weeks: float | None = None  # after a scheduled run, delete re-verified local sessions this old
    hash: str = "blake3"  # or a hashlib name; recorded in the manifest
    verify: str = "sample"  # destination check after each copy: sample or full
    max_rate_mb_s: float | None = None  # bandwidth cap (MB/s) so a copy leaves the network room; None: no cap


@dataclass(frozen=True)
class RigConfig:
    name: str
    kind: str
    dashboard: str | None
    token: str | None
    echo: str = DEFAULT_ECHO
    echo_allow: tuple[str, ...] = ()  # peers (hosts, addresses, networks) the echo listener obeys besides loopback
    main_sync: bool = False
    local_subjects: Path | None = None
    remote_subjects: Path | None = None
    camera: CameraConfig | None = None
    task: TaskConfig | None = None
    spool: dict[str, Any] = field(default_factory=dict)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    state_dir: Path | None = None
    status_interval: float = 0.5
    source: Path | None = None
    tag: str = ""  # the device tag of its descriptions and server stubs; unique among a session's rigs

    @property
    def device_tag(self) -> str:
        """`tag:` in rig.yaml, else the kind (behavior, video, ephys: iblrig's tags)."""
        return self.tag or self.kind

    @property
    def agent_url(self) -> str | None:
        return self.dashboard.rstrip("/") + "/ws/agent/" if self.dashboard else None

    @property
    def outbox_path(self) -> Path:
        base = self.state_dir or Path.home() / ".labweb-rig" / self.name
        return base / "events.sqlite3"


_TOP_KEYS = {"name", "kind", "tag", "dashboard", "token", "token_file", "echo", "echo_allow", "main_sync", "data",
             "camera", "task",
             "spool", "transfer", "state_dir", "status_interval"}
_DATA_KEYS = {"local_subjects", "remote_subjects"}
_TASK_KEYS = {"protocol", "collection", "source", "trial_seconds", "procedures", "projects"}
_COLLECTION = re.compile(r"[\w.-]+(/[\w.-]+)*")
_TRANSFER_KEYS = {"expected_devices", "schedule_minutes", "cleanup_weeks", "hash", "verify", "max_rate_mb_s"}


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


def _camera(data: dict, rig_name: str) -> CameraConfig | None:
    if "camera" not in data or data["camera"] is None:
        return None
    cam = _section(data, "camera")
    source = str(cam.get("source", "synthetic"))
    try:
        cls = source_class(source)
    except ValueError as exc:
        raise ConfigError(f"camera.source: {exc}") from None
    _check_keys(cam, COMMON_KEYS | cls.options, f"camera (source {source})")
    shape = cam.get("shape", [1024, 1024])
    if not (isinstance(shape, list | tuple) and len(shape) == 2 and all(isinstance(n, int) and n > 0 for n in shape)):
        raise ConfigError("camera.shape must be two positive integers, e.g. [1024, 1024]")
    fps = cam.get("fps", 30)
    if not isinstance(fps, int | float) or isinstance(fps, bool) or fps <= 0:
        raise ConfigError("camera.fps must be a positive number")
    label = str(cam.get("label") or rig_name)
    if not _LABEL.fullmatch(label):
        raise ConfigError("camera.label may hold letters, digits, '_' and '-' only (e.g. left, right, body)")
    options = {key: value for key, value in cam.items() if key not in COMMON_KEYS}
    return CameraConfig(source=source, shape=(shape[0], shape[1]), dtype=str(cam.get("dtype", "uint16")),
                        fps=float(fps), label=label, options=options)


def _task(data: dict) -> TaskConfig | None:
    if data.get("task") is None:
        return None
    task = _section(data, "task")
    _check_keys(task, _TASK_KEYS, "task")
    protocol = task.get("protocol")
    if not isinstance(protocol, str) or not _PROTOCOL.fullmatch(protocol):
        raise ConfigError("task.protocol is required: the task's name, e.g. _iblrig_tasks_trainingChoiceWorld8.0.0")
    collection = str(task.get("collection", "raw_task_data_00"))
    if not _COLLECTION.fullmatch(collection) or ".." in collection.split("/"):
        raise ConfigError("task.collection must be a folder inside the session, e.g. raw_task_data_00")
    if task.get("source", "simulated") != "simulated":
        raise ConfigError("task.source: only 'simulated' is built in")
    seconds = task.get("trial_seconds", 2.0)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0.05 <= seconds <= 3600:
        raise ConfigError("task.trial_seconds must be between 0.05 and 3600")
    lists = {}
    for key in ("procedures", "projects"):
        value = task.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"task.{key} must be a list of names")
        lists[key] = tuple(value)
    return TaskConfig(protocol=protocol, collection=collection, trial_seconds=float(seconds), **lists)


def _spool(data: dict) -> dict[str, Any]:
    """The `spool:` defaults, checked now (a typo must stop the agent at start, not the first series)."""
    spool = _section(data, "spool")
    try:
        SpoolSettings.from_mapping({"directory": ".", **spool})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"spool: {exc}") from None
    return dict(spool)


def _positive(section: dict, key: str, *, minimum: float = 0.0, integer: bool = False) -> Any:
    """An optional positive number (None when absent or null); ConfigError naming `transfer.<key>` otherwise."""
    value = section.get(key)
    if value is None:
        return None
    kind = int if integer else int | float
    if not isinstance(value, kind) or isinstance(value, bool) or value <= 0 or value < minimum:
        what = "a positive integer" if integer else f"a number of at least {minimum:g}" if minimum else "a positive number"
        raise ConfigError(f"transfer.{key} must be {what}")
    return value


def _transfer(data: dict, remote_subjects: Path | None) -> TransferConfig:
    if data.get("transfer") is None:
        return TransferConfig()
    section = _section(data, "transfer")
    _check_keys(section, _TRANSFER_KEYS, "transfer")
    if remote_subjects is None:
        raise ConfigError("transfer: needs data.remote_subjects (the lab server's subjects folder)")
    algorithm = str(section.get("hash", "blake3"))
    try:
        hasher_new(algorithm)
    except ValueError as exc:
        raise ConfigError(f"transfer.hash: {exc}") from None
    verify = section.get("verify", "sample")
    if verify not in ("sample", "full"):
        raise ConfigError("transfer.verify must be 'sample' or 'full'")
    # 0 means "no schedule", as people write it in YAML; anything shorter than a minute would be a busy loop.
    schedule = section.get("schedule_minutes")
    return TransferConfig(
        expected_devices=_positive(section, "expected_devices", integer=True),
        schedule_minutes=None if schedule == 0 and not isinstance(schedule, bool) else _positive(section, "schedule_minutes", minimum=1),
        cleanup_weeks=_positive(section, "cleanup_weeks"),
        hash=algorithm,
        verify=verify,
        max_rate_mb_s=_positive(section, "max_rate_mb_s"),
    )


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


def _echo_allow(data: dict) -> tuple[str, ...]:
    """`echo_allow:` a list of host names, addresses and networks (e.g. 10.0.0.0/24), checked here."""
    from rigs.echo.allow import networks_parse

    value = data.get("echo_allow") or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("echo_allow must be a list of host names, addresses or networks (e.g. 10.0.0.0/24)")
    try:
        networks_parse(value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return tuple(value)


def config_from_dict(data: Any, *, base: Path = Path("."), source: Path | None = None) -> RigConfig:
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a mapping of keys to values")
    _check_keys(data, _TOP_KEYS, "rig configuration")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError("'name' is required: letters, digits, '_', '.', '-' (64 at most)")
    dirs = _section(data, "data")
    _check_keys(dirs, _DATA_KEYS, "data")
    interval = data.get("status_interval", 0.5)
    if not isinstance(interval, int | float) or isinstance(interval, bool) or not 0.2 <= interval <= 60:
        raise ConfigError("status_interval must be between 0.2 and 60 seconds (a few statuses per second at most)")
    remote_subjects = _path(dirs.get("remote_subjects"), base)
    tag = str(data.get("tag") or "")
    try:
        tag_check(tag or str(data.get("kind", "video")))
    except LayoutError as exc:
        raise ConfigError(f"{'tag' if tag else 'kind'}: {exc}") from None
    return RigConfig(
        name=name,
        kind=str(data.get("kind", "video")),
        dashboard=str(data["dashboard"]) if data.get("dashboard") else None,
        token=_token(data, base),
        echo=str(data.get("echo") or DEFAULT_ECHO),
        echo_allow=_echo_allow(data),
        main_sync=bool(data.get("main_sync", False)),
        local_subjects=_path(dirs.get("local_subjects"), base),
        remote_subjects=remote_subjects,
        camera=_camera(data, name),
        task=_task(data),
        spool=_spool(data),
        transfer=_transfer(data, remote_subjects),
        state_dir=_path(data.get("state_dir"), base),
        status_interval=float(interval),
        source=source,
        tag=tag,
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
