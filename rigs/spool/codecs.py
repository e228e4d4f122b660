"""Compression choices: how each one is declared on /ImageData and how a worker thread encodes one frame.

Every codec yields exactly the bytes the declared HDF5 filter pipeline would have produced, so any reader with
hdf5plugin (h5py, PyTables, PYME) decodes the chunks written with `write_direct_chunk`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import hdf5plugin
import numpy as np

from rigs.spool import blosc

Encoder = Callable[..., np.ndarray | bytes]  # encode(frame) or, when Codec.into, encode(frame, out)


@dataclass(frozen=True)
class Codec:
    """One compression setting.

    `encode` is None when the frame is written as is (no compression), or when the library needed to
    encode outside HDF5 is missing: the writer then lets the HDF5 filter pipeline compress (slower,
    single-threaded, still readable).
    """

    name: str
    h5_options: Mapping[str, Any] = field(default_factory=dict)
    encode: Encoder | None = None
    filtered_write: bool = False  # True: write through the HDF5 filter pipeline instead of direct chunks
    live_ok: bool = True  # False: too slow for live camera rates (documented, still allowed)
    into: bool = False  # True: encode(frame, out) writes into `out` (frame bytes + blosc.MAX_OVERHEAD, or None)


def _blosc(name: str, cname: str, clevel: int, shuffle: int) -> Codec:
    options = dict(hdf5plugin.Blosc(cname=cname, clevel=clevel, shuffle=shuffle))
    lib = blosc.load_blosc()
    if lib is None:
        return Codec(name, options, None, filtered_write=True)

    def encode(frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return lib.compress(frame, cname=cname, clevel=clevel, shuffle=shuffle, out=out)

    return Codec(name, options, encode, into=True)


def _byte_shuffle(frame: np.ndarray) -> np.ndarray:
    """HDF5's shuffle filter: byte k of every element, then byte k+1, ..."""
    size = frame.dtype.itemsize
    flat = np.ascontiguousarray(frame).view(np.uint8).reshape(-1, size)
    return np.ascontiguousarray(flat.T)


def _gzip(level: int) -> Codec:
    # shuffle then deflate: the order h5py declares them in, and what PYME's zlib+shuffle writer does.
    options = {"compression": "gzip", "compression_opts": level, "shuffle": True}

    def encode(frame: np.ndarray) -> bytes:
        shuffled = _byte_shuffle(frame) if frame.dtype.itemsize > 1 else frame
        return zlib.compress(memoryview(shuffled).cast("B"), level)  # releases the GIL while it runs

    return Codec("gzip", options, encode, live_ok=False)


def _none(frame: np.ndarray) -> np.ndarray:
    return frame


# clevel 5 costs lz4 nothing measurable over 1 and gains ~2%; zstd above 1 drops from ~1.2 GB/s to ~0.3 GB/s.
_FACTORIES: dict[str, Callable[[], Codec]] = {
    "none": lambda: Codec("none", {}, _none),
    "blosc-lz4": lambda: _blosc("blosc-lz4", "lz4", 5, blosc.SHUFFLE),
    "blosc-lz4-bitshuffle": lambda: _blosc("blosc-lz4-bitshuffle", "lz4", 5, blosc.BITSHUFFLE),
    "blosc-zstd": lambda: _blosc("blosc-zstd", "zstd", 1, blosc.SHUFFLE),
    "gzip": lambda: _gzip(1),
}
ALIASES = {"blosc-lz4-shuffle": "blosc-lz4", "blosc": "blosc-lz4", "zlib": "gzip", "raw": "none"}
COMPRESSIONS = tuple(_FACTORIES)
# What an operator is offered for a live camera, the default first (gzip keeps up with no camera worth spooling).
LIVE_COMPRESSIONS = ("blosc-lz4", "blosc-lz4-bitshuffle", "blosc-zstd", "none")


def canonical_name(name: str) -> str:
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _FACTORIES:
        raise ValueError(f"unknown compression {name!r}; choose one of {', '.join(COMPRESSIONS)}")
    return key


def get_codec(name: str) -> Codec:
    """The codec for a compression name (aliases accepted); gzip is allowed but too slow for live use."""
    return _FACTORIES[canonical_name(name)]()
