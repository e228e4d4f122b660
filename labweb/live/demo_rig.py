"""A demo rig agent whose data disk is simulated, so `labweb demo` shows a disk running low without filling a real one.

    python -m labweb.live.demo_rig --config rig.yaml --disk-gb 24 --fill-mb-s 20

The agent is the real one (rigs.agent.agent_build); only what it reports of its disk differs: a disk of
`--disk-gb` whose free space falls at `--fill-mb-s` (another program writing, as on an ephys PC) and by what the
rig's own folder holds, and which is emptied again when it is nearly full (as if someone cleaned it up), so the
demo's alert opens after a few minutes and later resolves by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

from rigs.config import ConfigError, config_load
from rigs.messages import DiskStatus

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
CLEANED_AT = 0.95  # share of the disk used when the simulated clean-up empties it


class SimulatedDisk:
    """Stands in for rigs.agent.disk.DiskWatch: the same `last`, `measure()` and `watch()`."""

    def __init__(self, path: Path, *, size: int, fill_rate: float) -> None:
        self.path, self.size, self.fill_rate = path, size, fill_rate
        self.started = time.monotonic()
        self.last: DiskStatus | None = None

    def measure(self) -> DiskStatus:
        cycle = CLEANED_AT * self.size / self.fill_rate if self.fill_rate > 0 else float("inf")
        filled = self.fill_rate * ((time.monotonic() - self.started) % cycle)
        free = max(0, int(self.size - filled - _folder_bytes(self.path)))
        self.last = DiskStatus(path=str(self.path), total=self.size, free=free)
        return self.last

    async def watch(self) -> None:
        while True:
            await asyncio.to_thread(self.measure)
            await asyncio.sleep(REFRESH_SECONDS)


def _folder_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass  # a file removed while we count
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--disk-gb", type=float, required=True, help="size of the simulated data disk")
    parser.add_argument("--fill-mb-s", type=float, default=0.0, help="how fast something else fills it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_load(args.config)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    from rigs.agent import agent_build

    agent = agent_build(config)
    folder = config.local_subjects.parent if config.local_subjects else config.outbox_path.parent
    agent.disk = SimulatedDisk(folder, size=int(args.disk_gb * 1e9), fill_rate=args.fill_mb_s * 1e6)
    log.info("simulated data disk: %.0f GB, filling at %.0f MB/s", args.disk_gb, args.fill_mb_s)
    asyncio.run(agent.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
