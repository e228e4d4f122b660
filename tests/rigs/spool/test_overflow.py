"""When storage falls behind, frames are dropped, counted, recorded by number in /Events and reported."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from rigs.spool.pipeline import drop_events

from .conftest import camera, settings


def _numbers(descr: bytes) -> set[int]:
    found: set[int] = set()
    for part in descr.decode().split(","):
        first, _, last = part.partition("-")
        found.update(range(int(first), int(last or first) + 1))
    return found


def test_overflow_drops_are_recorded_and_reported(run_series):
    # A free-running camera, one gzip worker and a ring of a few frames: the camera must outrun storage.
    cam = camera(fps=None, shape=(256, 256))
    result, recorder = run_series(cam, compression="gzip", workers=1, buffer_mb=1, max_frames=60)
    assert result["dropped"] > 0 and result["frames"] == 60
    with h5py.File(result["file"], "r") as f:
        events = f["Events"][:]
        stored = list(f["FrameInfo"]["FrameNum"])
        np.testing.assert_array_equal(f["ImageData"][-1], cam.frame(stored[-1]))
    dropped: set[int] = set()
    for row in events[events["EventName"] == b"FramesDropped"]:
        dropped |= _numbers(row["EventDescr"])
    assert len(dropped) == result["dropped"]
    assert not dropped & set(stored)
    assert dropped | set(stored) == set(range(max(stored) + 1)) | {n for n in dropped if n > max(stored)}
    reported = [d for name, d in recorder.events if name == "spool.dropped"]
    assert reported and reported[-1]["dropped"] == result["dropped"]


def test_no_drops_when_storage_keeps_up(run_series):
    result, recorder = run_series(camera(fps=300), compression="blosc-lz4", max_frames=60)
    assert result["dropped"] == 0 and "spool.dropped" not in recorder.names()
    with h5py.File(result["file"], "r") as f:
        assert b"FramesDropped" not in set(f["Events"]["EventName"])


def test_drop_event_descriptions_are_ranges_that_fit():
    events = drop_events([1, 2, 3, 7, *range(1000, 3000, 2)], 5.0)
    assert events[0][1].startswith("1-3,7,1000,1002")
    assert all(len(descr) <= 256 and name == "FramesDropped" for name, descr, _ in events)
    assert set().union(*(_numbers(d.encode()) for _, d, _ in events)) == {1, 2, 3, 7, *range(1000, 3000, 2)}


@pytest.mark.parametrize("compression", ["blosc-lz4", "none"])
def test_few_output_buffers_still_write_every_frame_in_order(run_series, compression):
    # 128 KiB frames in 1 MB: a ring of 2 slots and 5 output buffers for 3 workers, so workers wait for buffers
    # (and the frame the writer needs next goes through without one); PYME order takes the transpose path too.
    cam = camera(fps=None, shape=(256, 256))
    result, _ = run_series(cam, compression=compression, axis_order="pyme", workers=3, buffer_mb=1, max_frames=80)
    assert result["frames"] == 80 and result["complete"]
    with h5py.File(result["file"], "r") as f:
        stored = list(f["FrameInfo"]["FrameNum"])
        assert stored == sorted(stored)
        for n, frame_no in enumerate(stored):
            np.testing.assert_array_equal(f["ImageData"][n], cam.frame(frame_no).T)


def test_tiny_frames_do_not_turn_the_buffer_into_millions_of_slots(tmp_path):
    """8x8 frames and a gigabyte of buffer: the ring and the pool stay at a bounded count, not one per 128 bytes."""
    from rigs.spool import SpoolController
    from rigs.spool.pipeline import MAX_POOL_BUFFERS, MAX_RING_SLOTS

    controller = SpoolController(camera(shape=(8, 8), fps=500))
    controller.start(settings(tmp_path, max_frames=50, buffer_mb=1024))
    try:
        series = controller._series
        assert series.ring.slots <= MAX_RING_SLOTS
        assert series._pool is None or series._pool.count <= MAX_POOL_BUFFERS
    finally:
        controller.stop()
