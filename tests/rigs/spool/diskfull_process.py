"""One series in its own process until the disk is full, for the disk-full tests (a crash must not take pytest).

Usage: python -m tests.rigs.spool.diskfull_process DIR COMPRESSION SWMR(0|1) RESERVE_MB FPS FILLER(0|1)
With FILLER, another writer fills the same file system while the series runs (so the disk can fill up between
the spooler's free-space check and its write). Prints one line: the result dict and the spool events' frames.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from rigs.spool import SpoolController, SyntheticCamera

SHAPE = (128, 128)


def fill(folder: Path, controller: SpoolController, after: float) -> None:
    """Write a file until the disk is full, and keep taking whatever room appears while the series runs."""
    time.sleep(after)
    block = os.urandom(64 << 10)
    with open(folder / f"filler-{os.getpid()}", "wb") as handle:
        while controller.status().state in ("running", "stopping"):
            try:
                handle.write(block)
                handle.flush()
            except OSError:
                time.sleep(0.005)


def main(directory: str, compression: str, swmr: bool, reserve_mb: float, fps: float, filler: bool) -> None:
    events: list[tuple[str, dict]] = []
    controller = SpoolController(SyntheticCamera(SHAPE, "uint16", fps), rig="disk-full",
                                 on_event=lambda name, data: events.append((name, data)))
    controller.start({"directory": directory, "compression": compression, "swmr": swmr, "preflight": "skip",
                      "reserve_mb": reserve_mb, "buffer_mb": 4, "flush_interval_s": 0.25, "max_frames": 10**7})
    if filler:
        threading.Thread(target=fill, args=(Path(directory).parent, controller, 0.2), daemon=True).start()
    result = controller.wait(timeout=120)
    reported = [data["frames"] for name, data in events if name in ("spool.stopped", "spool.failed")]
    print(json.dumps({"result": result, "reported": reported}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] == "1", float(sys.argv[4]), float(sys.argv[5]), sys.argv[6] == "1")
