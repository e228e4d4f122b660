"""Experiment description files: read, write, list their collections, and merge device stubs (DESIGN 4.2)."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from rigs.layout import DESCRIPTION_FILE, description_name

SPEC_VERSION = "1.0.0"
VIDEO_COLLECTION = "raw_video_data"
BPOD_SYNC = {"acquisition_software": "pybpod", "extension": ".jsonable"}


class DescriptionError(ValueError):
    """A description that cannot be used (missing, unreadable, or conflicting with another)."""


class SyncConflictError(DescriptionError):
    """Two device stubs name different `sync` devices; a session has exactly one."""


def description_local_path(session_dir: Path, tag: str) -> Path | None:
    """The device's own description in a local session: the tagged file, else the untagged one.

    Another tag's file is never returned: on a PC acquiring for two devices it describes the other one.
    """
    for name in (description_name(tag), DESCRIPTION_FILE):
        path = Path(session_dir, name)
        if path.is_file():
            return path
    return None


def description_read(path: Path) -> dict[str, Any]:
    """Load a description yaml (a mapping) with tasks normalised to a list of single-key dicts."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DescriptionError(f"cannot read description {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise DescriptionError(f"description {path} is not a mapping")
    if isinstance(data.get("tasks"), dict):  # spec 0.1 wrote tasks as one mapping
        data["tasks"] = [{k: v} for k, v in data["tasks"].items()]
    if "tasks" in data:
        data["tasks"] = [{k: v} for item in data["tasks"] for k, v in item.items()]
    return data


def description_write(path: Path, data: dict[str, Any]) -> Path:
    """Write a description atomically (temporary name, fsync, rename) so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.labweb-tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, sort_keys=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def camera_stub(cameras: dict[str, dict[str, Any]], collection: str = VIDEO_COLLECTION) -> dict[str, Any]:
    """A camera PC's description, as iblrig's `VideoCopier.config2stub` writes it: one entry per camera label
    (left, right, body ...) with its collection and its settings, keys lower-cased, empty values left out."""
    entries = {}
    for label, settings in cameras.items():
        kept = {str(k).lower(): v for k, v in settings.items() if v is not None and str(k).lower() != "index"}
        entries[label] = {"collection": collection, **kept}
    return {"devices": {"cameras": entries}, "version": SPEC_VERSION}


def task_stub(protocol: str, collection: str, *, main_sync: bool, procedures: Iterable[str] = (),
              projects: Iterable[str] = ()) -> dict[str, Any]:
    """A behaviour PC's description, as iblrig's `make_experiment_description_dict` writes it for a Bpod task:
    procedures and projects, the Bpod `sync` when this PC is the main sync, and the task with its collection
    (with `sync_label: bpod` when it is not)."""
    task: dict[str, Any] = {"collection": collection}
    if not main_sync:
        task["sync_label"] = "bpod"
    description: dict[str, Any] = {"procedures": sorted(set(procedures)), "projects": sorted(set(projects))}
    if main_sync:
        description["sync"] = {"bpod": {"collection": collection, **BPOD_SYNC}}
    description["tasks"] = [{protocol: task}]
    description["version"] = SPEC_VERSION
    return description


def description_collections(data: dict[str, Any]) -> list[str]:
    """Every `collection` value named anywhere in a description (glob patterns kept as written), in order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("collection"), str):
                found.append(node["collection"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return list(dict.fromkeys(found))


def description_merge(stubs: Iterable[tuple[str, dict[str, Any]]], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge named device stubs into one session description, the way ibllib's merge does, but stricter.

    Rules: one `sync` only (a different one is a SyncConflictError naming both stubs); `tasks` de-duplicated
    keeping order; other lists de-duplicated keeping order; dicts merged one level deep (as ibllib does);
    anything else: the later stub wins. `base` (an existing aggregate) is merged first.
    """
    merged: dict[str, Any] = copy.deepcopy(base) if base else {}
    sync_from = "the existing aggregate description" if "sync" in merged else None
    for name, stub in stubs:
        for key, value in stub.items():
            if key == "sync":
                if "sync" in merged and merged["sync"] != value:
                    raise SyncConflictError(
                        f"conflicting sync devices: {sync_from} has {merged['sync']!r} but {name} has {value!r}; "
                        "a session has exactly one sync"
                    )
                sync_from = sync_from or name
                merged["sync"] = copy.deepcopy(value)
            elif isinstance(value, list):
                merged[key] = _list_union(merged.get(key, []), value)
            elif isinstance(value, dict):
                merged[key] = _dict_merge(merged.get(key, {}), value, depth=0)
            else:
                merged[key] = value
    merged.setdefault("version", SPEC_VERSION)
    return merged


def _list_union(left: list[Any], right: list[Any]) -> list[Any]:
    # Equality, not hashing: tasks are dicts of dicts. Lists are short, so quadratic is fine.
    out = list(left)
    for item in right:
        if item not in out:
            out.append(copy.deepcopy(item))
    return out


def _dict_merge(left: dict[str, Any], right: dict[str, Any], depth: int, max_depth: int = 1) -> dict[str, Any]:
    merged = dict(left)
    for key, value in right.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict) and depth < max_depth:
            merged[key] = _dict_merge(merged[key], value, depth + 1, max_depth)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
