"""The words and colours the browser draws states with, and the choices it offers, sent from their one definition.

Every page embeds this as a JSON block (base.html, `labweb-vocabulary`); the browser's modules read it instead of
keeping copies of their own, so the pages, the dashboard and the rigs cannot disagree.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from labweb.fleet.choices import COMMAND_COLOURS, RIG_STATES, CommandState
from labweb.records.choices import COPY_COLOURS, SESSION_COLOURS, CopyState, SessionState
from rigs.spool.codecs import LIVE_COMPRESSIONS


def vocabulary() -> dict[str, Any]:
    return {
        "rig_states": {state: {"label": label, "colour": colour} for state, (label, colour) in RIG_STATES.items()},
        "session_states": {s.value: {"label": s.label, "colour": SESSION_COLOURS[s]} for s in SessionState},
        "copy_states": {int(s): {"label": s.label, "colour": COPY_COLOURS[s]} for s in CopyState},
        "command_states": {s.value: {"label": s.label, "colour": COMMAND_COLOURS[s]} for s in CommandState},
        "compressions": list(LIVE_COMPRESSIONS),
        "time_zone": settings.TIME_ZONE,  # pages write times in the dashboard's zone, whatever the browser's
    }


def vocabulary_context(request) -> dict[str, Any]:
    """Template context processor: `vocabulary` for the JSON block every page carries."""
    return {"vocabulary": vocabulary()}
