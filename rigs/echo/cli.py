"""`labweb-rig session`: a command-line main rig driving the rigs of a remote_rigs.yaml through one session."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from rigs.echo.events import MessageEvent
from rigs.echo.services import DEFAULT_TIMEOUT, Services
from rigs.echo.session import SessionControl, SessionOutcome, run_session

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `session` sub-command to labweb-rig."""
    parser = subparsers.add_parser(
        "session",
        help="run a multi-rig session as the main rig (iblutil echo protocol)",
        description="Drive every rig of a remote_rigs.yaml through EXPINFO, EXPINIT, EXPSTART, EXPSTATUS, "
        "then EXPEND (or EXPINTERRUPT on Ctrl-C or error) and EXPCLEANUP. The exp_ref comes from the one rig "
        "that answers EXPINFO with main_sync: true.",
    )
    parser.add_argument("--remote-rigs", required=True, type=Path, metavar="YAML",
                        help="flat map `name: URI` (iblrig's remote_devices.yaml)")
    parser.add_argument("--subject", required=True, help="subject name sent with EXPINFO")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                        help="end the session (EXPEND) after this long; without it, run until Ctrl-C")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds each rig has to answer each message (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--sequential", action="store_true", help="wait for each rig before messaging the next")
    parser.set_defaults(func=main)


def load_remote_rigs(path: Path) -> dict[str, str]:
    """Read a `name: URI` map; anything else is an error naming the file."""
    with path.open(encoding="utf-8") as fp:
        rigs = yaml.safe_load(fp)
    if not isinstance(rigs, dict) or not rigs:
        raise ValueError(f"{path}: expected a non-empty map of rig name to URI")
    for name, uri in rigs.items():
        if not isinstance(uri, str):
            raise ValueError(f"{path}: the URI of {name!r} is not a string")
    return {str(name): uri for name, uri in rigs.items()}


def print_event(event: MessageEvent) -> None:
    """One line per message: replies as they arrive, and what was sent."""
    if event.kind == "request" and event.direction == "sent":
        return  # the main sends one to every rig; the replies are what is worth watching
    took = f" {event.elapsed * 1000:.1f} ms" if event.elapsed is not None else ""
    label = "ERROR" if event.kind == "error" else event.kind
    print(f"{event.rig:<16} {event.name:<12} {label:<6}{took:>10}  {json.dumps(event.payload)}", flush=True)


def main(args: argparse.Namespace) -> int:
    """Run the session; exit 0 when every rig answered, 1 naming the failed rigs, 130 on Ctrl-C."""
    try:
        rigs = load_remote_rigs(args.remote_rigs)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"labweb-rig session: {exc}", file=sys.stderr)
        return EXIT_FAILED
    outcome = asyncio.run(_session(rigs, args))
    return report(outcome)


async def _session(rigs: dict[str, str], args: argparse.Namespace) -> SessionOutcome:
    control = SessionControl()
    restore = _on_interrupt(asyncio.get_running_loop(), control)
    try:
        services = await Services.connect(rigs, timeout=args.timeout, on_message=print_event)
        try:
            return await run_session(services, args.subject, duration=args.duration, control=control,
                                     concurrent=not args.sequential)
        finally:
            services.close()
    finally:
        restore()


def _on_interrupt(loop: asyncio.AbstractEventLoop, control: SessionControl) -> Any:
    """First Ctrl-C (or SIGTERM) interrupts the session; a second one aborts. Plain `signal` works on Windows too."""
    signals = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def handler(signum: int, frame: Any) -> None:
        if control.requested:
            raise KeyboardInterrupt
        print("stopping: sending EXPINTERRUPT and EXPCLEANUP to every rig (Ctrl-C again to abort)",
              file=sys.stderr, flush=True)
        loop.call_soon_threadsafe(control.interrupt)

    for sig in signals:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def report(outcome: SessionOutcome) -> int:
    """Print how the session ended and return the exit code."""
    if outcome.failures:
        names = ", ".join(outcome.failures)
        print(f"session {outcome.exp_ref or '(no exp_ref)'} failed; rigs that failed: {names}", file=sys.stderr)
        for name, exc in outcome.failures.items():
            print(f"  {name}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if outcome.error:
        print(f"session failed: {outcome.error}", file=sys.stderr)
        return EXIT_FAILED
    if outcome.interrupted:
        print(f"session {outcome.exp_ref} interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"session {outcome.exp_ref} done (main sync: {outcome.main_sync})", flush=True)
    return EXIT_OK
