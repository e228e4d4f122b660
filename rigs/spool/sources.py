"""Choosing a frame source from a rig's `camera:` configuration: synthetic, replay:<file.h5>, or a plug-in.

Plugging in a real camera driver: subclass `rigs.spool.source.FrameSource`, list the rig.yaml options it takes in
its `options` class attribute, and either
  - name it by dotted path in the rig config: `camera: {source: "mylab.cameras:Orca", exposure_ms: 10}`, or
  - publish an entry point in your package, group `labweb.cameras`: `orca = "mylab.cameras:Orca"`,
    then `camera: {source: orca}`.
shape, dtype and fps, and the source's own options, are passed to the class as keyword arguments.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from typing import Any

from rigs.spool.replay import ReplaySource
from rigs.spool.source import FrameSource
from rigs.spool.synthetic import SyntheticCamera

ENTRY_POINT_GROUP = "labweb.cameras"
# Keys of a `camera:` section that every source understands; `label` names the camera in session descriptions.
COMMON_KEYS = frozenset({"source", "shape", "dtype", "fps", "label"})


def source_class(spec: str) -> type[FrameSource]:
    """The class a `source:` value names (synthetic, replay:<file>, an entry point or module:Class)."""
    if spec == "synthetic":
        return SyntheticCamera
    if spec.startswith("replay:"):
        return ReplaySource
    return load_plugin(spec)


def source_from_config(config: Mapping[str, Any]) -> FrameSource:
    """Build a source from a rig config's `camera:` mapping.

    `source`: "synthetic" | "replay:<file.h5>" | an entry point name in `labweb.cameras` | "module:Class".
    """
    options = dict(config)
    spec = str(options.pop("source", "synthetic"))
    options.pop("label", None)  # the session description's, not the driver's
    if "shape" in options:
        options["shape"] = tuple(int(v) for v in options["shape"])
    if spec.startswith("replay:"):
        options.pop("shape", None)  # a replay's shape and dtype are the file's
        options.pop("dtype", None)
        return ReplaySource(spec.removeprefix("replay:"), **options)
    return source_class(spec)(**options)


def load_plugin(spec: str) -> type[FrameSource]:
    """A source class from an entry point name or a "module:Class" / "module.Class" path."""
    for entry in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == spec:
            return entry.load()
    module_name, sep, attr = spec.partition(":")
    if not sep:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"camera source {spec!r}: not synthetic, replay:<file>, an entry point or module:Class")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"camera source {spec!r} cannot be loaded: {exc}") from exc
