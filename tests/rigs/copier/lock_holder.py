"""Holds a session's transfer lock in its own process until stdin closes (for the lock tests).

Usage: python -m tests.rigs.copier.lock_holder SESSION_DIR TAG; prints "held" once it holds the lock.
"""

import sys

from rigs.copier.lock import transfer_lock

if __name__ == "__main__":
    with transfer_lock(sys.argv[1], sys.argv[2]):
        print("held", flush=True)
        sys.stdin.read()
