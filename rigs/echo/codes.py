"""Message codes, status values and wire limits of the iblutil (>= 1.11) echo protocol."""

from __future__ import annotations

from enum import IntEnum

DEFAULT_PORT = 11001
DEFAULT_SCHEME = "udp"
STREAM_SCHEMES = ("tcp", "ws", "wss")  # all plain TCP carrying the same bytes, no framing
SCHEMES = ("udp", *STREAM_SCHEMES)

# The largest UDP payload over IPv4 (65,535 - 8 byte UDP header - 20 byte IP header).
UDP_MAX_PAYLOAD = 65_507

ERROR = 0  # `[0, "Type: message", code]`: a handler on the other side failed


class ExpMessage(IntEnum):
    """Lifecycle message codes (one bit each; compound codes are not messages)."""

    EXPINIT = 1
    EXPSTART = 2
    EXPEND = 4
    EXPCLEANUP = 8
    EXPINTERRUPT = 16
    EXPSTATUS = 32
    EXPINFO = 64
    ALYX = 128


class ExpStatus(IntEnum):
    """A rig's experiment status as carried by EXPSTATUS and EXPINFO."""

    CONNECTED = 0
    INITIALIZED = 10
    RUNNING = 20
    STOPPED = 30


VALID_CODES = frozenset(int(m) for m in ExpMessage)

# iblutil before 1.11 numbered the messages differently and listened on port 10001.
LEGACY_PORT = 10001
LEGACY_CODES = {
    10: "EXPINIT",
    20: "EXPSTART",
    30: "EXPEND",
    40: "EXPCLEANUP",
    50: "EXPINTERRUPT",
    1: "EXPSTATUS",
    2: "EXPINFO",
    3: "ALYX",
}


def code_name(code: int) -> str:
    """Return the name of a code (`ERROR` for 0), or the number itself when unknown."""
    if code == ERROR:
        return "ERROR"
    try:
        return ExpMessage(code).name
    except ValueError:
        return str(code)
