"""A real rig agent (built from its rig.yaml by rigs.agent, every part, its real link and outbox) that also emits a
numbered durable event every 50 ms, as long as the file STOP does not exist; then it waits until the dashboard
acked every event, writes the last n to STOP + ".done" and exits.

`python -m tests.scale.ticking_agent CONFIG STOP`
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from rigs.agent import Agent, agent_build
from rigs.config import config_load

TICK_SECONDS = 0.05


async def tick(agent: Agent, stop: Path) -> None:
    n = 0
    while not stop.exists():
        n += 1
        agent.emit("test.tick", {"n": n})
        await asyncio.sleep(TICK_SECONDS)
    while agent.outbox.count():  # every event acked by a dashboard
        await asyncio.sleep(0.05)
    Path(f"{stop}.done").write_text(f"{n}\n")
    agent.stop()


async def main(config_path: str, stop: str) -> None:
    agent = agent_build(config_load(Path(config_path)))
    runner = asyncio.ensure_future(agent.run())
    await asyncio.sleep(0)
    await tick(agent, Path(stop))
    await runner


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(sys.argv[1], sys.argv[2]))
