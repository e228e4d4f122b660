"""The rig page: what the rig is, every series it spooled, and the latest commands and events."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from labweb.spooling.choices import OUTCOME_COLOURS
from labweb.spooling.selectors import spool_run_list

from . import selectors
from .choices import COMMAND_COLOURS
from .models import Rig
from .roles import user_is_operator

PAGE_SIZE = 50
RECENT_COMMANDS = 20
RECENT_EVENTS = 50
SUMMARY_CHARS = 120


def rig_detail(request, name: str):
    try:
        rig = selectors.rig_get(name=name)
    except Rig.DoesNotExist:
        raise Http404(f"No rig {name}") from None
    page = Paginator(spool_run_list(rig=rig), PAGE_SIZE).get_page(request.GET.get("page"))
    for run in page:
        run.outcome_colour = OUTCOME_COLOURS.get(run.outcome, "grey")
    commands = list(selectors.rig_commands(rig=rig, limit=RECENT_COMMANDS))
    for command in commands:
        command.state_colour = COMMAND_COLOURS.get(command.state, "grey")
        command.params_text = _summary(command.params)
    events = list(selectors.rig_events(rig=rig, limit=RECENT_EVENTS))
    for event in events:
        event.summary = _summary(event.data)
    return render(
        request,
        "fleet/rig_detail.html",
        {"nav": "rigs", "rig": rig, "page": page, "commands": commands, "events": events,
         "is_operator": user_is_operator(request.user)},
    )


def _summary(data) -> str:
    """One line of a JSON object, `key=value, ...`, cut to a readable length."""
    if not data:
        return ""
    if isinstance(data, dict):
        text = ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v, default=str)}" for k, v in data.items())
    else:
        text = json.dumps(data, default=str)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"
