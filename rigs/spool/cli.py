"""`labweb-rig spool`: run one series without a dashboard, with a live progress line; Ctrl-C stops cleanly."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from typing import Any

from rigs.messages import SpoolStatus
from rigs.spool.codecs import ALIASES, COMPRESSIONS
from rigs.spool.controller import SpoolController
from rigs.spool.hooks import MirrorToFolder
from rigs.spool.preflight import PreflightError
from rigs.spool.settings import PREFLIGHT_MODES, SpoolSettings
from rigs.spool.sources import source_from_config

PROGRESS_EVERY_S = 0.5


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `spool` sub-command to labweb-rig."""
    p = subparsers.add_parser("spool", help="spool one camera series to HDF5 (no dashboard)",
                              description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", required=True, help="directory pattern, e.g. D:/data/%%(year)04d-%%(month)02d-%%(day)02d")
    p.add_argument("--subdir", default="", help="subdirectory pattern under --out")
    p.add_argument("--name", default=SpoolSettings.series_pattern,
                   help="series name pattern (date keys, optional %%(counter)03d)")
    p.add_argument("--source", default="synthetic", help="synthetic | replay:FILE.h5 | entry point | module:Class")
    p.add_argument("--shape", default="2048x2048", type=_shape, help="HEIGHTxWIDTH (synthetic source)")
    p.add_argument("--dtype", default="uint16", help="pixel type (synthetic source)")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second; 0 = as fast as possible")
    p.add_argument("--frames", type=int, default=0, help="stop after N frames (0: until Ctrl-C)")
    p.add_argument("--compression", default="blosc-lz4", choices=sorted(COMPRESSIONS + tuple(ALIASES)),
                   help="gzip works but is too slow for live camera rates")
    p.add_argument("--preflight", default="abort", choices=PREFLIGHT_MODES,
                   help="when the series may not fit on the disk: abort, warn and start, or skip the check")
    p.add_argument("--reserve-mb", type=float, default=SpoolSettings.reserve_mb,
                   help="stop cleanly when free space would drop below this")
    p.add_argument("--buffer-mb", type=float, default=SpoolSettings.buffer_mb,
                   help="memory for frames between camera and disk (frames are dropped, never blocked, when full)")
    p.add_argument("--workers", type=int, default=SpoolSettings.workers, help="compression threads")
    p.add_argument("--swmr", action="store_true", help="let h5py readers open the file while it is written")
    p.add_argument("--axis-order", default="numpy", choices=("numpy", "pyme"),
                   help="numpy stores (frames, height, width); pyme (frames, width, height), PYME's own order")
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE", help="extra metadata entry")
    p.add_argument("--exp-ref", default=None, help="yyyy-mm-dd_n_subject, stored in /MetaData")
    p.add_argument("--rig", default=None, help="rig name stored in /MetaData")
    p.add_argument("--mirror", default=None, help="after the series, copy the file into this folder")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


def _shape(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not HEIGHTxWIDTH") from None
    return height, width


def _meta(pairs: list[str]) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--meta {pair!r}: expected KEY=VALUE")
        entries[key] = _number_or_text(value)
    return entries


def _number_or_text(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def progress_line(status: SpoolStatus) -> str:
    ratio = f"{status.ratio:.2f}" if status.ratio else "-"
    free = f"{status.disk_free / 1e9:,.1f} GB" if status.disk_free is not None else "-"
    return (f"frames {status.frames:>7} | {status.fps:7.1f} fps | in {status.mb_s_in:7.1f} MB/s | "
            f"disk {status.mb_s_disk:7.1f} MB/s | ratio {ratio} | queue {status.queue_fill * 100:3.0f}% | "
            f"dropped {status.dropped} | free {free}")


def run(args: argparse.Namespace) -> int:
    source_config: dict[str, Any] = {"source": args.source, "fps": args.fps or None}
    if args.source == "synthetic":
        source_config.update(shape=args.shape, dtype=args.dtype)
    settings = SpoolSettings(
        directory=args.out, subdirectory=args.subdir, series_pattern=args.name, compression=args.compression,
        max_frames=args.frames or None, metadata=_meta(args.meta), preflight=args.preflight,
        reserve_mb=args.reserve_mb, buffer_mb=args.buffer_mb, workers=args.workers, swmr=args.swmr,
        axis_order=args.axis_order, exp_ref=args.exp_ref,
    )
    hooks = [MirrorToFolder(args.mirror)] if args.mirror else []
    controller = SpoolController(source_from_config(source_config), rig=args.rig, hooks=hooks,
                                 on_event=lambda name, data: _log_event(name, data, args.quiet))
    stop_requested = threading.Event()
    previous = _on_signals(lambda *_: stop_requested.set())
    try:
        try:
            controller.start(settings)
        except PreflightError as exc:
            print(f"preflight refused the series: {exc}", file=sys.stderr)
            return 2
        result = _follow(controller, stop_requested, quiet=args.quiet)
        outcomes = controller.wait_hooks(timeout=None)
    finally:
        controller.close()
        _restore_signals(previous)
    print(json.dumps({**result, "hooks": [o.to_dict() for o in outcomes]}))
    return 0 if result["outcome"] == "ok" else 1


def _follow(controller: SpoolController, stop_requested: threading.Event, *, quiet: bool) -> dict[str, Any]:
    """Print progress until the series ends; a signal asks for a clean stop (the file is completed)."""
    tty = sys.stderr.isatty()
    last_line = 0.0
    while (result := controller.wait(PROGRESS_EVERY_S)) is None:
        if stop_requested.is_set():
            controller.stop(wait=False)
        if not quiet and (tty or time.monotonic() - last_line >= 1.0):
            print(("\r" if tty else "") + progress_line(controller.status()), end="" if tty else "\n",
                  file=sys.stderr, flush=True)
            last_line = time.monotonic()
    if not quiet:
        print(("\r" if tty else "") + progress_line(controller.status()), file=sys.stderr, flush=True)
    return result


def _log_event(name: str, data: dict[str, Any], quiet: bool) -> None:
    if name in ("spool.failed", "spool.warning", "spool.refused") or (name == "spool.hook" and not data["ok"]):
        print(f"\n{name}: {data.get('error') or data.get('reason') or data.get('detail')}", file=sys.stderr)
    elif not quiet and name in ("spool.started", "spool.stopped", "spool.hook"):
        print(f"\n{name}: {data.get('file')} {data.get('detail', '')}".rstrip(), file=sys.stderr)


def _on_signals(handler) -> dict[int, Any]:
    """SIGINT and SIGTERM both ask for a clean stop (only possible from the main thread)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if sig is not None:
            previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
