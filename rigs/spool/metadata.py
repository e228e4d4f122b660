"""/MetaData as PYME reads it: dotted keys become nested groups, values become scalar attributes.

PYME's HDFMDHandler reads a bool attribute as None and fails on any multi-element array, so bools are stored as
0/1, lists and dicts as JSON text, and per-frame values go into datasets (see h5layout.py), never here.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

GROUP = "MetaData"


def attr_value(value: Any) -> Any:
    """A value PYME and PyTables read back as what was meant (str, int or float scalars only)."""
    if isinstance(value, (bool, np.bool_)):
        return np.int64(int(value))
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        # Fixed-length ASCII is what PyTables writes and PYME decodes ('ascii'); other text stays UTF-8.
        return np.bytes_(value.encode("ascii")) if value.isascii() else value
    if isinstance(value, np.ndarray) and value.size == 1:
        return attr_value(value.item())
    if isinstance(value, (list, tuple, dict, np.ndarray)):
        return attr_value(json.dumps(value.tolist() if isinstance(value, np.ndarray) else value))
    if value is None:
        return np.bytes_(b"")
    return attr_value(str(value))


def split_key(key: str) -> tuple[list[str], str]:
    parts = key.split(".")
    if not all(parts):
        raise ValueError(f"metadata key {key!r} has an empty part")
    return parts[:-1], parts[-1]


def write_entries(f: h5py.File, entries: Mapping[str, Any]) -> None:
    """Write dotted-key entries under /MetaData, creating the groups (Camera.ADOffset -> /MetaData/Camera)."""
    root = f.require_group(GROUP)
    for key, value in entries.items():
        groups, name = split_key(key)
        group = root
        for part in groups:
            group = group.require_group(part)
        group.attrs[name] = attr_value(value)


def read_entries(f: h5py.File) -> dict[str, Any]:
    """The inverse of write_entries (as dotted keys, bytes decoded), for tests and hooks."""
    found: dict[str, Any] = {}
    root = f.get(GROUP)
    if root is None:
        return found

    def visit(group: h5py.Group, prefix: str) -> None:
        for name, value in group.attrs.items():
            found[prefix + name] = value.decode() if isinstance(value, bytes) else value
        for name, child in group.items():
            if isinstance(child, h5py.Group):
                visit(child, f"{prefix}{name}.")

    visit(root, "")
    return found


def software_entries() -> dict[str, Any]:
    from rigs import __version__

    return {
        "Software.Name": "labweb-rig spool",
        "Software.Version": __version__,
        "Software.h5py": h5py.version.version,
        "Software.HDF5": h5py.version.hdf5_version,
        "Software.Python": sys.version.split()[0],
        "Software.Host": platform.node(),
    }
