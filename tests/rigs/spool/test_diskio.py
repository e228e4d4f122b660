"""RawWriter: page-aligned frames bypass the page cache with O_DIRECT; anything else still lands, buffered."""

from __future__ import annotations

import os

import numpy as np
import pytest

from rigs.spool.diskio import RawWriter
from rigs.spool.ring import FrameRing

pytestmark = pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="O_DIRECT is Linux/BSD only")


def test_aligned_frames_go_direct_and_the_rest_through_the_page_cache(tmp_path):
    path = tmp_path / "raw.bin"
    path.write_bytes(b"")
    ring = FrameRing(2, (64, 64), np.dtype("uint16"))  # 8 KiB slots on a page boundary
    assert ring.frames.ctypes.data % 4096 == 0
    ring.frames[0] = 7
    odd = np.arange(100, dtype=np.uint16)
    writer = RawWriter(path)
    try:
        if not writer.direct:
            pytest.skip("this file system refuses O_DIRECT")
        writer.write_at(ring.frames[0], 4096)
        writer.write_at(odd, 3 * 4096)  # 200 bytes: not a whole block, so buffered
        assert writer.direct_bytes == 8192 and writer.buffered_bytes == 200
    finally:
        writer.close()
    data = path.read_bytes()
    assert data[:4096] == bytes(4096)
    assert np.array_equal(np.frombuffer(data[4096:3 * 4096], np.uint16), ring.frames[0].ravel())
    assert data[3 * 4096:] == odd.tobytes()
