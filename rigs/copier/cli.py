"""`labweb-rig transfer` and `labweb-rig verify`: the copier from the command line (no dashboard needed)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from rigs.copier.cleanup import sessions_cleanup
from rigs.copier.engine import CopyEngine
from rigs.copier.find import sessions_flagged
from rigs.copier.hashes import DEFAULT_ALGORITHM
from rigs.copier.progress import Progress
from rigs.copier.state import session_state
from rigs.copier.transfer import TransferResult, transfer
from rigs.copier.verify import verify
from rigs.layout import LayoutError

STATE_NAMES = {None: "unreachable", 0: "0 not registered", 1: "1 pending", 2: "2 complete", 3: "3 final"}


def register(subparsers) -> None:
    """Add `transfer` and `verify` to labweb-rig."""
    p = subparsers.add_parser(
        "transfer", help="copy sessions flagged transfer_me.flag to the lab server",
        description="Copy every local session flagged transfer_me.flag to the lab server in iblrig's layout: each "
        "file hashed while copied, verified, and listed in a manifest; the session is finalized when every device "
        "is in. An interrupted copy resumes; a session already finalized is left as it is.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--tag", required=True, help="this device's tag (behavior, video, ephys, ...)")
    p.add_argument("--local", required=True, type=Path, help="local subjects folder")
    p.add_argument("--remote", required=True, type=Path, help="the server's subjects folder")
    p.add_argument("--subject", default="*", help="subject glob")
    p.add_argument("--date", default="*", help="date glob, e.g. 2024-05-*")
    p.add_argument("--expected-devices", type=int, default=None, help="devices to wait for before finalizing")
    p.add_argument("--dry", action="store_true", help="show what would be copied; change nothing anywhere")
    p.add_argument("--cleanup-weeks", type=float, default=None, help="then delete local sessions older than this, once re-verified")
    p.add_argument("--algorithm", default=DEFAULT_ALGORITHM,
                   help="hash recorded in the manifest: blake3 or a hashlib name such as sha256")
    p.add_argument("--verify", choices=("sample", "full"), default="sample", help="destination check after each copy")
    p.add_argument("--workers", type=int, default=3, help="files copied at once")
    p.add_argument("--json", action="store_true", help="print each transfer's result record as a JSON line")
    p.set_defaults(func=transfer_command)

    v = subparsers.add_parser(
        "verify", help="re-check a server session against its transfer manifests",
        description="Re-hash every file of a server session against the manifests its devices wrote, from storage.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    v.add_argument("--remote", required=True, type=Path, help="the server session folder (subject/date/NNN)")
    v.add_argument("--tag", default=None, help="only this device's manifest")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(func=verify_command)


def transfer_command(args: argparse.Namespace) -> int:
    sessions = sessions_flagged(args.local, subject=args.subject, date=args.date)
    print(f"{len(sessions)} session(s) flagged for transfer in {args.local}" + (" (dry run)" if args.dry else ""))
    _print_states("before", sessions, args)
    engine = CopyEngine(algorithm=args.algorithm, verify=args.verify, workers=args.workers)
    results = [_transfer_one(session, engine, args) for session in sessions]
    _print_states("after", sessions, args)
    for result in results:
        _print_result(result, args.json)
    failed: list[object] = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)} ok, {len(failed)} failed")
    if args.cleanup_weeks is not None:
        failed += _cleanup(args)
    return 1 if failed else 0


def _transfer_one(session: Path, engine: CopyEngine, args: argparse.Namespace) -> TransferResult:
    with tqdm(desc=session.relative_to(args.local).as_posix(), unit="B", unit_scale=True, unit_divisor=1024,
              total=0, mininterval=0.5, file=sys.stderr) as bar:
        def progress(p: Progress) -> None:
            bar.total = p.bytes_total
            bar.update(p.bytes_done - bar.n)
            bar.set_postfix_str(f"{p.files_done}/{p.files_total} files", refresh=False)

        return transfer(session, remote_subjects=args.remote, tag=args.tag, expected_devices=args.expected_devices,
                        dry=args.dry, progress=progress, engine=engine)


def _print_states(when: str, sessions: list[Path], args: argparse.Namespace) -> None:
    for session in sessions:
        try:
            report = session_state(session, remote_subjects=args.remote, tag=args.tag)
            state, message = STATE_NAMES[None if report.state is None else int(report.state)], report.message
        except LayoutError as exc:
            state, message = "refused", str(exc)
        print(f"  {when:6} {session.relative_to(args.local).as_posix():32} {state:17} {message}")


def _print_result(result: TransferResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict()))
        return
    line = (f"{result.outcome.upper():9} {result.session}: {result.files_copied}/{result.files} files, "
            f"{result.bytes_copied}/{result.bytes} bytes copied in {result.seconds:.1f} s")
    print(line + (f" -- {result.error}" if result.error else f" ({result.message})" if result.message else ""))


def _cleanup(args: argparse.Namespace) -> list[object]:
    results = sessions_cleanup(args.local, remote_subjects=args.remote, tag=args.tag, weeks=args.cleanup_weeks, dry=args.dry)
    for r in results:
        verb = "would delete" if args.dry else "deleted"
        detail = f"{verb} {r.deleted_files} files ({r.deleted_bytes} bytes)" if r.outcome == "deleted" else r.reason
        print(f"  cleanup {r.session}: {r.outcome}: {detail}")
    return [r for r in results if r.outcome == "failed"]


def verify_command(args: argparse.Namespace) -> int:
    report = verify(args.remote, tag=args.tag)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    for error in report.errors:
        print(f"ERROR {error}")
    for check in report.bad:
        print(f"BAD   {check.status:7} {check.path} ({check.tag}): {check.message}")
    good = len(report.files) - len(report.bad)
    print(f"{'OK' if report.ok else 'FAILED'}: {good}/{len(report.files)} files match {len(report.manifests)} manifest(s)")
    return 0 if report.ok else 1
