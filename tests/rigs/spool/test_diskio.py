"""DirectFile: whole pages of large aligned writes bypass the page cache; everything else still lands."""

from __future__ import annotations

import os

import h5py
import hdf5plugin
import numpy as np
import pytest

from rigs.spool.diskio import DIRECT_MIN, DirectFile
from rigs.spool.ring import FrameRing

pytestmark = pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="O_DIRECT is Linux/BSD only")


def _direct_file(path) -> DirectFile:
    file = DirectFile(path)
    if not file.direct:
        file.close()
        pytest.skip("this file system refuses O_DIRECT")
    return file


def test_aligned_writes_go_direct_up_to_their_last_whole_page(tmp_path):
    path = tmp_path / "chunks.bin"
    ring = FrameRing(2, (256, 256), np.dtype("uint16"))  # 128 KiB slots on a page boundary
    ring.frames[0] = np.arange(256 * 256, dtype=np.uint16).reshape(256, 256)
    chunk = ring.frames[0].ravel().view(np.uint8)[:DIRECT_MIN + 1000]  # aligned start, ragged end
    small = np.arange(100, dtype=np.uint16)
    file = _direct_file(path)
    try:
        file.seek(4096)
        file.write(chunk)
        file.write(small)  # right after the chunk's tail: small and unaligned, so buffered
        assert file.direct_bytes == DIRECT_MIN and file.buffered_bytes == 1000 + small.nbytes
        assert file.tell() == 4096 + chunk.nbytes + small.nbytes
    finally:
        file.close()
    data = path.read_bytes()
    assert data[:4096] == bytes(4096)
    assert data[4096:4096 + chunk.nbytes] == chunk.tobytes()
    assert data[4096 + chunk.nbytes:] == small.tobytes()


def test_unaligned_offsets_and_buffers_are_written_buffered(tmp_path):
    path = tmp_path / "odd.bin"
    ring = FrameRing(1, (512, 512), np.dtype("uint16"))
    ring.frames[0] = 3
    file = _direct_file(path)
    try:
        file.seek(100)
        file.write(ring.frames[0])  # aligned buffer, unaligned offset
        file.write(ring.frames[0].ravel().view(np.uint8)[1:])  # unaligned buffer
        assert file.direct_bytes == 0
    finally:
        file.close()
    assert path.stat().st_size == 100 + 2 * ring.frames[0].nbytes - 1


def test_refuses_to_overwrite_an_existing_file(tmp_path):
    path = tmp_path / "taken.h5"
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        DirectFile(path)
    assert path.read_bytes() == b"keep me"


def test_hdf5_chunks_written_through_it_go_direct_and_read_back_anywhere(tmp_path):
    path = tmp_path / "series.h5"
    frames = np.random.default_rng(1).integers(90, 400, size=(5, 256, 256), dtype=np.uint16)
    file = _direct_file(path)
    with h5py.File(file, "w", libver=("earliest", "v110"), alignment_threshold=DIRECT_MIN,
                   alignment_interval=4096) as f:
        image = f.create_dataset("ImageData", shape=(5, 256, 256), chunks=(1, 256, 256), dtype=np.uint16)
        ring = FrameRing(5, (256, 256), np.dtype("uint16"))
        ring.frames[:] = frames
        for i in range(5):
            image.id.write_direct_chunk((i, 0, 0), ring.frames[i])
    file.close()
    assert file.direct_bytes == frames.nbytes
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["ImageData"][:], frames)
    assert hdf5plugin  # the same file opens with the plugin filters registered
