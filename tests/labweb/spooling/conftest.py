"""Fixtures for spooling: a registered camera rig, its spool events as the agent sends them, logged-in users."""

from __future__ import annotations

import itertools

import pytest

from labweb.fleet import services

FILE = "/data/spool/2024-03-05/2024-03-05_series_001.h5"
T0 = 1_709_640_000.0  # 2024-03-05 12:00 UTC


@pytest.fixture
def rig(db):
    return services.rig_create(name="cam-left", kind="video", echo_uri="udp://127.0.0.1:11001")[0]


class Outbox:
    """Spool events numbered like an agent's outbox; `send` stores them through the same path as the socket."""

    def __init__(self, rig) -> None:
        self.rig = rig
        self.seqs = itertools.count(1)

    def event(self, name: str, data: dict, *, seq: int | None = None, at: float = T0) -> dict:
        return {"seq": next(self.seqs) if seq is None else seq, "name": name, "time": at, "data": data}

    def send(self, *events: dict) -> list[int]:
        return services.events_store(rig=self.rig, events=list(events)).seqs


@pytest.fixture
def outbox(rig) -> Outbox:
    return Outbox(rig)


def started(file: str = FILE, **extra) -> dict:
    return {"file": file, "compression": "blosc-lz4", "shape": [512, 512], "dtype": "uint16", "fps": 20.0,
            "max_frames": None, "swmr": False, **extra}


def result(file: str = FILE, *, outcome: str = "ok", **extra) -> dict:
    """A spool.stopped / spool.failed payload as the rig's SeriesResult.to_dict() makes it."""
    data = {"file": file, "frames": 1200, "dropped": 0, "bytes_in": 1200 * 512 * 512 * 2, "bytes_out": 251_658_240,
            "ratio": 2.5, "started": T0, "ended": T0 + 60.0, "seconds": 60.0, "reason": "requested",
            "error": None, "complete": True, "compression": "blosc-lz4", "outcome": outcome, "rig": "cam-left"}
    data.update(extra)
    return data


