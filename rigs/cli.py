"""`labweb-rig`: the rig PC's command line (agent, command-line session main, spooler, copier)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from rigs import __version__, logsafe

# Each module adds its own sub-commands through `register(subparsers)`; a sub-command sets
# `func(args) -> int` as its default. Kept as a list so one part of the rig side never has to
# import another part just to build the parser.
SUBCOMMAND_MODULES = (
    "rigs.agent.cli",
    "rigs.echo.cli",
    "rigs.spool.cli",
    "rigs.copier.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labweb-rig",
        description="labweb rig agent and tools for an acquisition PC (no dashboard needed for spool/transfer).",
    )
    parser.add_argument("--version", action="version", version=f"labweb-rig {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logsafe.install()  # -v shows websockets' handshake headers: never the rig token
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
