"""The rig's data disk as the status reports it, measured in a thread so a slow or vanished share never holds up
the event loop (the heartbeat reads the last measurement)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from rigs.messages import DiskStatus

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0


class DiskWatch:
    def __init__(self, path: Path, fallback: Path) -> None:
        self.path, self.fallback = path, fallback
        self.last: DiskStatus | None = None

    def measure(self) -> DiskStatus:
        probe = self.path if self.path.exists() else self.fallback
        usage = shutil.disk_usage(probe)
        self.last = DiskStatus(path=str(self.path), total=usage.total, free=usage.free)
        return self.last

    async def watch(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.measure)
            except OSError as exc:
                log.warning("cannot measure the data disk %s: %s", self.path, exc)
            await asyncio.sleep(REFRESH_SECONDS)
