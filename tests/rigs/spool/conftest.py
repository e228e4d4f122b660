"""Shared helpers for the spooler tests: small synthetic cameras and one-call series runs on real files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rigs.spool import SpoolController, SyntheticCamera

REPO = Path(__file__).resolve().parents[3]
SHAPE = (48, 64)  # height, width: small and not square, so a swapped axis shows


class Recorder:
    """Collects on_event calls (from spooler threads)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, data: dict[str, Any]) -> None:
        self.events.append((name, data))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def first(self, name: str) -> dict[str, Any]:
        return next(data for n, data in self.events if n == name)


def camera(fps: float | None = 500.0, shape: tuple[int, int] = SHAPE, **kwargs: Any) -> SyntheticCamera:
    return SyntheticCamera(shape, "uint16", fps, **kwargs)


def settings(directory: Path, **overrides: Any) -> dict[str, Any]:
    return {"directory": str(directory), "reserve_mb": 0, "preflight": "skip", "buffer_mb": 8,
            "flush_interval_s": 0.2, **overrides}


@pytest.fixture
def run_series(tmp_path: Path) -> Callable[..., tuple[dict[str, Any], Recorder]]:
    """Run one series to its end (max_frames, default 40) and return (result dict, recorded events)."""

    def run(source=None, *, free_space=None, hooks=(), **overrides: Any) -> tuple[dict[str, Any], Recorder]:
        recorder = Recorder()
        kwargs = {"free_space": free_space} if free_space else {}
        controller = SpoolController(source or camera(), rig="test-rig", on_event=recorder, hooks=hooks, **kwargs)
        overrides.setdefault("max_frames", 40)
        controller.start(settings(overrides.pop("directory", tmp_path / "data"), **overrides))
        result = controller.wait(timeout=30)
        controller.wait_hooks(timeout=30)
        assert result is not None, "series did not end"
        return result, recorder

    return run


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable
