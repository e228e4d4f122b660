"""Hash functions for manifests: BLAKE3 by default (fast enough that hashing never limits a copy), or any hashlib name.

SHA-256 runs at about 2 GB/s on one core, slower than a copy from a fast disk (DESIGN 4.2); BLAKE3 at about
6-7 GB/s keeps the one read of each file, hashed while it is copied, from waiting on the hash.
"""

from __future__ import annotations

import hashlib

import blake3

DEFAULT_ALGORITHM = "blake3"


def hasher_new(algorithm: str):
    """A fresh hasher with hashlib's interface (update, hexdigest); ValueError names an unknown algorithm."""
    if algorithm == "blake3":
        return blake3.blake3()
    try:
        return hashlib.new(algorithm)
    except ValueError:
        raise ValueError(f"unknown hash algorithm {algorithm!r} (blake3, or a hashlib name such as sha256)") from None
