"""`labweb-rig run`: the agent's command line."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rigs.config import ConfigError, config_load

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the rig agent (connects to the dashboard, runs the rig's parts)",
        description="Run the rig agent with a rig.yaml configuration (README: \"Setting up a real lab\"). Stops cleanly on Ctrl-C or SIGTERM.",
    )
    run.add_argument("--config", type=Path, required=True, help="the rig's YAML configuration file")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        config = config_load(args.config)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    from rigs.agent import agent_run  # the agent's imports (h5py, websockets) only when it runs

    return agent_run(config)
