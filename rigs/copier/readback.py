"""Checking a written file without a second full read: its size, and sample blocks (head, middle and tail) read
back from storage after asking the OS to drop them from its cache, compared with the bytes read from the source.

Works on the copy engine's records of written files (rigs.copier.engine): each has `tmp`, `size`, `samples`,
`job.rel`, and `failed` / `dst_mtime_ns` that the checks fill in.
"""

from __future__ import annotations

import os

from rigs.copier.errors import VerifyMismatch
from rigs.copier.fileio import drop_cache, prefetch, read_at

SAMPLE = 64 << 10


class Sampler:
    """Keeps the source bytes of the blocks that will be read back from the destination."""

    def __init__(self, size: int) -> None:
        if size <= 3 * SAMPLE:
            starts = [0] if size else []
            lengths = [size]
        else:
            middle = (size // 2) & ~4095
            starts, lengths = [0, middle, size - SAMPLE], [SAMPLE] * 3
        self.blocks = {start: bytearray(length) for start, length in zip(starts, lengths, strict=True)}

    def take(self, offset: int, view: memoryview) -> None:
        end = offset + len(view)
        for start, block in self.blocks.items():
            lo, hi = max(start, offset), min(start + len(block), end)
            if lo < hi:
                block[lo - start : hi - start] = view[lo - offset : hi - offset]


def check_size(item, stat: os.stat_result) -> None:
    if stat.st_size != item.size:
        raise VerifyMismatch(item.job.rel, f"destination holds {stat.st_size} bytes, {item.size} were read")
    item.dst_mtime_ns = stat.st_mtime_ns


def verify_samples(items: list) -> None:
    """Compare the sample blocks read back from storage with the source bytes. Every file's blocks are first
    dropped from the page cache and then requested at once (WILLNEED), so the reads from storage overlap."""
    opened = []
    try:
        for item in items:
            if item.failed:
                continue
            try:
                fh = open(item.tmp, "rb", buffering=0)
            except BaseException as exc:  # noqa: BLE001 - reported per file
                item.failed = exc
                continue
            opened.append((item, fh))
            try:
                check_size(item, os.fstat(fh.fileno()))
                for start, block in item.samples.items():
                    drop_cache(fh.fileno(), start, len(block))
                    prefetch(fh.fileno(), start, len(block))
            except BaseException as exc:  # noqa: BLE001
                item.failed = exc
        for item, fh in opened:
            if item.failed:
                continue
            try:
                for start, expected in item.samples.items():
                    if read_at(fh, start, len(expected)) != expected:
                        raise VerifyMismatch(item.job.rel, f"destination bytes at offset {start} differ from the source")
            except BaseException as exc:  # noqa: BLE001
                item.failed = exc
    finally:
        for _, fh in opened:
            fh.close()
