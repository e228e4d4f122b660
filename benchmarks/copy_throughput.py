"""Copy throughput of labweb's copier (with verification) against `cp -r` + sync and `rsync -a`, same tree, same run.

Usage: python benchmarks/copy_throughput.py [--small] [--repeat N] [--workers N] [--keep]

Builds a session under a temporary folder in /work (deleted at the end): a "large" collection (3 x 1 GiB by
default, 3 x 128 MiB with --small) and a "small" one (3000 x 64 KiB files, 600 with --small). Each method copies
each collection to an empty destination with a cold source cache (drop_caches as root, else posix_fadvise
DONTNEED on every source file); timings include a final `sync`. Then the resume cost: a labweb copy killed
half-way and run again, timed against the bytes it still had to copy. Other processes share the CPUs, so
numbers are noisy: run with --repeat and read the median.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rigs.copier import CopyEngine, transfer  # noqa: E402
from rigs.copier.journal import Journal  # noqa: E402

MiB, GiB = 1 << 20, 1 << 30
SETS = {"large": "raw_ephys_data", "small": "raw_video_data"}


def main() -> int:
    args = _parse()
    root = Path(tempfile.mkdtemp(prefix="labweb-bench-", dir=args.dir))
    try:
        sessions = _build(root, args)
        rows = []
        for name, session in sessions.items():
            for _ in range(args.repeat):
                rows += _round(root, name, session, args)
        _report(rows, sessions)
        _resume(root, sessions["large"], args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="a quick run: 3 x 128 MiB and 600 x 64 KiB")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--workers", type=int, default=3, help="labweb copy threads")
    p.add_argument("--dir", default="/work", help="where the temporary tree goes")
    p.add_argument("--keep", action="store_true", help="keep the temporary tree")
    args = p.parse_args()
    args.large = (3, 128 * MiB) if args.small else (3, GiB)
    args.many = (600, 64 << 10) if args.small else (3000, 64 << 10)
    return args


def _build(root: Path, args: argparse.Namespace) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    sessions = {}
    for name, collection in SETS.items():
        session = root / "local" / "Subjects" / f"bench_{name}" / "2024-01-01" / "1"
        count, size = args.large if name == "large" else args.many
        for i in range(count):
            path = session / collection / f"probe{i // 100:02d}" / f"data_{i:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as fh:
                for start in range(0, size, 64 * MiB):
                    fh.write(rng.bytes(min(64 * MiB, size - start)))
        description = {"version": "1.0.0", "devices": {name: {name: {"collection": collection}}}}
        (session / "_ibl_experiment.description_bench.yaml").write_text(yaml.safe_dump(description))
        sessions[name] = session
    subprocess.run(["sync"], check=True)
    return sessions


def _cold(session: Path) -> str:
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return "drop_caches"
    except OSError:
        for path in session.rglob("*"):
            if path.is_file() and hasattr(os, "posix_fadvise"):
                fd = os.open(path, os.O_RDONLY)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                os.close(fd)
        return "fadvise"


def _round(root: Path, name: str, session: Path, args: argparse.Namespace) -> list[tuple[str, str, float]]:
    rows = []
    src = session / SETS[name]
    methods = {"cp -r + sync": lambda dst: _shell(["cp", "-r", str(src), str(dst / SETS[name])])}
    if shutil.which("rsync"):
        methods["rsync -a + sync"] = lambda dst: _shell(["rsync", "-a", f"{src}/", f"{dst / SETS[name]}/"])
    methods["labweb (sample verify)"] = lambda dst: _labweb(session, dst, "sample", args.workers)
    methods["labweb (full re-read verify)"] = lambda dst: _labweb(session, dst, "full", args.workers)
    for method, run in methods.items():
        dst = root / "remote" / "Subjects"
        shutil.rmtree(root / "remote", ignore_errors=True)
        dst.mkdir(parents=True)
        _cold(session)
        start = time.perf_counter()
        run(dst)
        subprocess.run(["sync"], check=True)
        rows.append((name, method, time.perf_counter() - start))
    shutil.rmtree(root / "remote", ignore_errors=True)
    return rows


def _shell(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True)


def _labweb(session: Path, dst: Path, verify: str, workers: int) -> None:
    result = transfer(session, remote_subjects=dst, tag="bench", engine=CopyEngine(verify=verify, workers=workers))
    if result.outcome == "failed":
        raise RuntimeError(result.error)


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.name.endswith(".yaml"))


def _report(rows: list[tuple[str, str, float]], sessions: dict[str, Path]) -> None:
    print(f"\n{'set':6} {'method':30} {'bytes':>14} {'median s':>9} {'MB/s':>8} {'x cp':>6}  (runs)")
    for name, session in sessions.items():
        size = _bytes(session)
        times = {}
        for set_name, method, seconds in rows:
            if set_name == name:
                times.setdefault(method, []).append(seconds)
        cp = statistics.median(times["cp -r + sync"])
        for method, values in times.items():
            med = statistics.median(values)
            runs = " ".join(f"{v:.2f}" for v in values)
            print(f"{name:6} {method:30} {size:14,d} {med:9.2f} {size / med / 1e6:8.0f} {cp / med:6.2f}  ({runs})")


def _resume(root: Path, session: Path, args: argparse.Namespace) -> None:
    """Kill a labweb copy half-way, then time the rerun against the bytes it still had to copy."""
    dst = root / "remote" / "Subjects"
    shutil.rmtree(root / "remote", ignore_errors=True)
    dst.mkdir(parents=True)
    total = _bytes(session)
    _cold(session)
    start = time.perf_counter()
    _labweb(session, dst, "sample", args.workers)
    full = time.perf_counter() - start
    shutil.rmtree(root / "remote", ignore_errors=True)
    dst.mkdir(parents=True)
    child = (f"import sys; sys.path.insert(0, {str(REPO)!r}); from rigs.copier import transfer, CopyEngine; "
             f"transfer({str(session)!r}, remote_subjects={str(dst)!r}, tag='bench', "
             f"engine=CopyEngine(workers={args.workers}, checkpoint_bytes=64 << 20))")
    proc = subprocess.Popen([sys.executable, "-c", child])
    journal = next(iter([]), None)
    saved = 0
    while proc.poll() is None:
        journal = next(dst.rglob("*.journal.jsonl"), None)
        if journal:
            files, checkpoints = Journal(journal).load()
            saved = sum(r.size for r in files.values()) + sum(c.offset for c in checkpoints.values())
            if saved >= total // 2:
                proc.send_signal(signal.SIGKILL)
                break
        time.sleep(0.002)
    proc.wait()
    _cold(session)
    start = time.perf_counter()
    result = transfer(session, remote_subjects=dst, tag="bench")
    subprocess.run(["sync"], check=True)
    rerun = time.perf_counter() - start
    missing = result.bytes_copied
    expected = full * missing / total
    print(f"\nresume: killed with {saved / MiB:.0f} MiB verified or checkpointed of {total / MiB:.0f} MiB; "
          f"rerun copied {missing / MiB:.0f} MiB in {rerun:.2f} s; a full copy took {full:.2f} s, so the missing "
          f"bytes alone would take {expected:.2f} s (rerun / that = {rerun / expected if expected else float('nan'):.2f}x; "
          f"outcome {result.outcome})")


if __name__ == "__main__":
    sys.exit(main())
