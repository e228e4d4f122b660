"""A behaviour rig's task inside each session: its description (Bpod sync, protocol, collection) and its data.

The built-in `simulated` source writes what an iblrig Bpod task leaves in its collection, at a steady pace:
`_iblrig_taskSettings.raw.json` when the session starts (and again, completed, when it ends) and one line per
trial in `_iblrig_taskData.raw.jsonable`. It stands in for the rig's real task the way the synthetic camera stands
in for a real camera: the demo and the tests run a whole lab's day with it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import random
import time
import zlib
from pathlib import Path
from typing import Any

from rigs.config import TaskConfig
from rigs.copier.description import task_stub
from rigs.layout import exp_ref_parse
from rigs.messages import TaskStatus
from rigs.parts.base import Emit

log = logging.getLogger(__name__)

SETTINGS_FILE = "_iblrig_taskSettings.raw.json"
DATA_FILE = "_iblrig_taskData.raw.jsonable"


class TaskPart:
    key = "task"

    def __init__(self, task: TaskConfig, *, rig: str, main_sync: bool, emit: Emit) -> None:
        self.task, self.rig, self.main_sync = task, rig, main_sync
        self._emit = emit
        self._state = "idle"
        self._trials = 0
        self._started = 0.0
        self._ended = 0.0
        self._runner: asyncio.Task | None = None
        self._folder: Path | None = None
        self._settings: dict[str, Any] = {}

    def actions(self) -> dict[str, Any]:
        return {}

    def status(self) -> TaskStatus:
        until = time.time() if self._state == "running" else self._ended
        elapsed = round(until - self._started, 1) if self._started else 0.0
        return TaskStatus(state=self._state, protocol=self.task.protocol, collection=self.task.collection,
                          trials=self._trials, elapsed_s=elapsed)

    async def start(self) -> None:
        """The task runs only inside a session."""

    async def close(self) -> None:
        await self.session_ended()

    # -- its share of a session ----------------------------------------------------------------------------
    def description(self, *, main_sync: bool) -> dict[str, Any]:
        return task_stub(self.task.protocol, self.task.collection, main_sync=main_sync,
                         procedures=self.task.procedures, projects=self.task.projects)

    async def session_started(self, session_dir: Path, exp_ref: str) -> dict[str, Any]:
        if self._runner is not None and not self._runner.done():
            return {"task": self.task.protocol}  # a resent EXPSTART: the task already runs
        self._folder = session_dir / self.task.collection
        self._trials, self._started, self._state = 0, time.time(), "running"
        self._settings = _settings(self.task, exp_ref, self.rig)
        await asyncio.to_thread(self._write_settings)
        self._runner = asyncio.ensure_future(self._run())
        self._emit("task.started", {"exp_ref": exp_ref, "protocol": self.task.protocol,
                                    "collection": self.task.collection})
        return {"task": self.task.protocol}

    async def session_ended(self) -> dict[str, Any]:
        if self._runner is None or self._runner.done():
            return {}
        self._runner.cancel()
        await asyncio.gather(self._runner, return_exceptions=True)
        self._state, self._ended = "stopped", time.time()
        self._settings.update(SESSION_END_TIME=_iso(self._ended), NTRIALS=self._trials)
        await asyncio.to_thread(self._write_settings)
        self._emit("task.stopped", {"exp_ref": self._settings.get("SESSION_REF"), "trials": self._trials})
        return {"trials": self._trials}

    # -- the simulated task ----------------------------------------------------------------------------------
    async def _run(self) -> None:
        generator = random.Random(zlib.crc32(self._settings["SESSION_REF"].encode()))
        while True:
            await asyncio.sleep(self.task.trial_seconds)
            self._trials += 1
            trial = _trial(self._trials, generator, self.task.trial_seconds)
            await asyncio.to_thread(self._append, trial)

    def _append(self, trial: dict[str, Any]) -> None:
        with open(self._folder / DATA_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(trial) + "\n")

    def _write_settings(self) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / SETTINGS_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self._settings, indent=1), encoding="utf-8")
        os.replace(tmp, path)


def _settings(task: TaskConfig, exp_ref: str, rig: str) -> dict[str, Any]:
    ref = exp_ref_parse(exp_ref)
    return {
        "PYBPOD_PROTOCOL": task.protocol, "SUBJECT_NAME": ref.subject, "SESSION_DATE": ref.date.isoformat(),
        "SESSION_NUMBER": f"{ref.number:03d}", "SESSION_REF": exp_ref, "RIG_NAME": rig,
        "SESSION_START_TIME": _iso(time.time()), "SESSION_END_TIME": None, "NTRIALS": 0,
        "PROCEDURES": list(task.procedures), "PROJECTS": list(task.projects), "SIMULATED": True,
    }


def _trial(number: int, generator: random.Random, seconds: float) -> dict[str, Any]:
    correct = generator.random() < 0.8
    return {"trial_num": number, "contrast": generator.choice([0.0, 0.0625, 0.125, 0.25, 1.0]),
            "position": generator.choice([-35, 35]), "response_time": round(generator.uniform(0.2, seconds / 2), 3),
            "trial_correct": correct, "reward_amount": 1.5 if correct else 0.0}


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%dT%H:%M:%S.%f")
