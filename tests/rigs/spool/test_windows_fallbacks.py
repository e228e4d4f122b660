"""The series file on an OS without pread, preadv, pwrite, O_DIRECT or posix_fadvise (Windows' os module): the
fallbacks write and read the same HDF5 series. `mypy` (scripts/test) checks statically that no POSIX-only call
is left unguarded on the rig side; this runs the guarded branches."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from rigs.spool.diskio import DIRECT_MIN, CacheTrimmer, DirectFile

POSIX_ONLY = ("pread", "preadv", "pwrite", "O_DIRECT", "posix_fadvise")


@pytest.fixture
def windows_os(monkeypatch):
    for name in POSIX_ONLY:
        monkeypatch.delattr(os, name, raising=False)


def test_a_series_written_and_read_without_positioned_io(windows_os, tmp_path):
    path = tmp_path / "series.h5"
    frames = np.random.default_rng(2).integers(0, 4000, size=(6, 128, 160), dtype=np.uint16)
    file = DirectFile(path)
    assert not file.direct
    with h5py.File(file, "w", libver=("earliest", "v110"), alignment_threshold=DIRECT_MIN,
                   alignment_interval=4096) as f:
        image = f.create_dataset("ImageData", shape=frames.shape, chunks=(1, 128, 160), dtype=np.uint16)
        for i, frame in enumerate(frames):
            image.id.write_direct_chunk((i, 0, 0), np.ascontiguousarray(frame))
        f.flush()
    with CacheTrimmer(path) as trimmer:  # fsync only: no page-cache advice to give
        trimmer.sync()
    assert trimmer.syncs >= 1 and trimmer.error is None
    file.close()
    assert file.buffered_bytes >= frames.nbytes
    reader = DirectFile(path, create=False)  # h5py reads through readinto/read: the lseek + read fallback
    with h5py.File(reader, "r") as f:
        np.testing.assert_array_equal(f["ImageData"][:], frames)
    reader.close()
