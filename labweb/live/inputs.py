"""What browsers may send on the dashboard socket, checked before anything acts on it: bounded size and nesting,
finite numbers, no NUL, and a JSON object with a `type`. A message that fails is answered with an error and the
socket stays open (one bad message must not cut an operator off)."""

from __future__ import annotations

import logging
from typing import Any

from rigs.jsonbounds import JSONBoundsError, bounded_loads

# A browser sends `{type: snapshot}` or a command with a few parameters; anything this big is a bug or an attack.
MAX_BROWSER_MESSAGE_BYTES = 64 * 1024


class InputError(ValueError):
    """A browser message that cannot be acted on; the text is what the browser is told."""


def browser_message(text: str | bytes | None) -> dict[str, Any]:
    """The parsed message, or InputError saying what is wrong with it."""
    if text is None:
        raise InputError("empty message: expected {type: snapshot|session|command}")
    try:
        message = bounded_loads(text, max_bytes=MAX_BROWSER_MESSAGE_BYTES)
    except JSONBoundsError as exc:
        raise InputError(f"message refused: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise InputError("expected {type: snapshot|session|command}")
    return message


async def answer(consumer, text: str) -> None:
    """Send an answer to a refused message; if the client closed its socket meanwhile (a client that floods and
    leaves), drop it quietly: daphne would log a traceback for every queued answer otherwise."""
    try:
        await consumer.send(text_data=text)
    except Exception as exc:  # autobahn's Disconnected, or a socket already closing
        logging.getLogger(__name__).debug("answer dropped, socket closed: %s", exc)
