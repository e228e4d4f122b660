"""c-blosc 1.x compression through the library hdf5plugin already ships, so chunks match HDF5 filter 32001.

python-blosc2 writes Blosc2-format frames that the Blosc filter (and so PyTables and PYME) cannot read;
hdf5plugin's `libh5blosc` embeds c-blosc 1.x and exports its context API. ctypes releases the GIL for the
call, so several worker threads compress in parallel.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# c-blosc 1.x constants (blosc.h).
MAX_OVERHEAD = 16
NOSHUFFLE, SHUFFLE, BITSHUFFLE = 0, 1, 2


class BloscLibrary:
    """The c-blosc 1.x entry points of one loaded shared library."""

    def __init__(self, lib: ctypes.CDLL, path: Path):
        self.path = path
        self._compress = lib.blosc_compress_ctx
        self._compress.restype = ctypes.c_int
        self._compress.argtypes = [
            ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p,
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int,
        ]
        version = lib.blosc_get_version_string
        version.restype = ctypes.c_char_p
        self.version = version().decode()

    def compress(self, frame: np.ndarray, *, cname: str, clevel: int, shuffle: int,
                 out: np.ndarray | None = None) -> np.ndarray:
        """Compress one C-contiguous array into `out` (uint8, >= nbytes + MAX_OVERHEAD; None: a new one).

        Returns a uint8 view of exactly the compressed bytes.
        """
        src = np.ascontiguousarray(frame)
        if out is None:
            # np.empty leaves pages untouched, so only the compressed length ever becomes resident memory.
            out = np.empty(src.nbytes + MAX_OVERHEAD, dtype=np.uint8)
        elif out.dtype != np.uint8 or out.nbytes < src.nbytes + MAX_OVERHEAD or not out.flags.c_contiguous:
            raise ValueError(f"output buffer of {out.nbytes} B {out.dtype} cannot hold {src.nbytes} B compressed")
        n = self._compress(
            clevel, shuffle, src.dtype.itemsize, src.nbytes, src.ctypes.data,
            out.ctypes.data, out.nbytes, cname.encode(), 0, 1,
        )
        if n <= 0:
            raise RuntimeError(f"blosc_compress_ctx failed ({n}) for {cname} level {clevel}")
        return out[:n]


def _candidates() -> list[Path]:
    import hdf5plugin

    plugin_dir = Path(getattr(hdf5plugin, "PLUGIN_PATH", Path(hdf5plugin.__file__).parent / "plugins"))
    # libh5blosc2 is the Blosc2 filter (32026): never the one we want.
    return sorted(p for p in plugin_dir.glob("*h5blosc.*") if "blosc2" not in p.name)


@functools.lru_cache(maxsize=1)
def load_blosc() -> BloscLibrary | None:
    """The c-blosc 1.x library, or None when no loadable copy exports the context API (see codecs)."""
    for path in _candidates():
        try:
            lib = ctypes.CDLL(str(path))
            if hasattr(lib, "blosc_compress_ctx") and hasattr(lib, "blosc_get_version_string"):
                return BloscLibrary(lib, path)
        except OSError as exc:
            log.debug("cannot load %s: %s", path, exc)
    log.warning("no c-blosc 1.x with blosc_compress_ctx in hdf5plugin: blosc goes through the HDF5 filter")
    return None
