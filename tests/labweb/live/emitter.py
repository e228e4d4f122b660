"""A real rig agent (rigs.agent, built from its rig.yaml, over its real link and outbox) that emits numbered events.

Run as a process by the durability tests: `python -m tests.labweb.live.emitter CONFIG RUN COUNT PROGRESS`.
It writes each n to PROGRESS after the event is in the outbox, and exits once every event is acked.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from rigs.agent import Agent, agent_build
from rigs.config import config_load


async def emit(agent: Agent, run: str, count: int, progress: Path) -> None:
    with progress.open("a") as log:
        for n in range(1, count + 1):
            agent.emit("test.tick", {"run": run, "n": n})
            log.write(f"{n}\n")
            log.flush()
            await asyncio.sleep(0.01)
    while agent.outbox.count():  # every event acked by the dashboard
        await asyncio.sleep(0.05)
    agent.stop()


async def main(config_path: str, run: str, count: int, progress: str) -> None:
    agent = agent_build(config_load(Path(config_path)))
    runner = asyncio.ensure_future(agent.run())
    await asyncio.sleep(0)
    await emit(agent, run, count, Path(progress))
    await runner


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
