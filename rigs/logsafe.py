"""A logging filter that keeps secrets out of the rig's log: `-v` turns on websockets' DEBUG lines, which print
every handshake header, the agent's `Authorization: Bearer <token>` among them."""

from __future__ import annotations

import logging
import re

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
REDACTED = "[redacted]"
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")


class RedactSecrets(logging.Filter):
    """Rewrites a record whose header value or text holds a secret; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # websockets logs each header as ("> %s: %s", key, value) or ("< %s: %s", key, value)
        if isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], str) and \
                args[0].lower() in SECRET_HEADERS:
            record.args = (args[0], REDACTED)
            return True
        message = record.getMessage()
        if _BEARER.search(message):
            record.msg, record.args = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", message), ()
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of `logger` (the root logger by default): records from any logger pass
    a handler on their way out, including the ones that propagate there."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
