"""A spooler in its own process for the crash and live-reading tests: prints frames_flushed as it goes.

Usage: python -m tests.rigs.spool.writer_process DIR COMPRESSION SWMR(0|1) [HEIGHTxWIDTH]
First line: {"file": ...}; then one line per 20 ms with the number of frames flushed so far.
"""

from __future__ import annotations

import json
import sys
import time

from rigs.spool import SpoolController, SyntheticCamera

SHAPE = (48, 64)
FPS = 400.0


def main(directory: str, compression: str, swmr: bool, shape: tuple[int, int] = SHAPE) -> None:
    controller = SpoolController(SyntheticCamera(shape, "uint16", FPS))
    controller.start({"directory": directory, "compression": compression, "swmr": swmr, "preflight": "skip",
                      "reserve_mb": 0, "buffer_mb": 8, "flush_interval_s": 0.25})
    print(json.dumps({"file": controller.status().file}), flush=True)
    while True:
        print(controller.status().frames_flushed, flush=True)
        time.sleep(0.02)


if __name__ == "__main__":
    shape = tuple(int(v) for v in sys.argv[4].split("x")) if len(sys.argv) > 4 else SHAPE
    main(sys.argv[1], sys.argv[2], sys.argv[3] == "1", shape)
