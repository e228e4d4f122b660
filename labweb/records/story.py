"""A session's story in plain words: who started it, each rig's steps, how it ended, what failed and why, and
where its data went. Told from the records and the rigs' events; the raw event log stays one click away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from labweb.fleet.models import RigEvent
from labweb.live.templatetags.labweb_format import si_bytes
from labweb.transfers.models import Transfer

from .models import Session

ENDED_BY = {
    "duration": "ended by itself after its {duration}",
    "stop": "was stopped by an operator",
    "interrupt": "was interrupted",
    "cancelled": "was cut short when its leading rig's agent stopped",
    "agent_restart": "ended when its leading rig's agent restarted",
    "error": "failed",
}


@dataclass(frozen=True)
class Line:
    """One sentence of the story: when, about which rig ('' for the session), and whether it is bad news."""

    time: dt.datetime | None
    rig: str
    text: str
    problem: bool = False


def session_story(session: Session, events: Iterable[RigEvent]) -> list[Line]:
    lines = [_beginning(session)]
    for event in events:
        line = _event_line(event)
        if line is not None:
            lines.append(line)
    lines += _copies(session)
    if session.ended_at is not None or session.error:
        lines.append(_ending(session))
    if session.finalized_at is not None:
        lines.append(Line(session.finalized_at, "", "Every device's data reached the server and the session was "
                                                     "finalized (raw_session.flag written once)."))
    return sorted(lines, key=lambda line: (line.time is None, line.time or dt.datetime.min.replace(tzinfo=dt.UTC)))


def _beginning(session: Session) -> Line:
    main = next((p.rig.name for p in session.participants.all() if p.is_main), None)
    who = f"by {session.created_by.get_username()}" if session.created_by_id else "by the rigs' report"
    where = "from the dashboard" if session.origin == "dashboard" else "by a main rig outside the dashboard"
    duration = f", to run {session.duration:.0f} s" if session.duration else ", to run until stopped"
    led = f", led by {main}" if main else ""
    return Line(session.created_at, "", f"Started {who} {where}{led}{duration if session.origin == 'dashboard' else ''}.")


def _ending(session: Session) -> Line:
    duration = f"{session.duration:.0f} s" if session.duration else "duration"
    how = ENDED_BY.get(session.ended_by, "ended").format(duration=duration)
    text = f"The session {how}."
    if session.error:
        text += f" {session.error}"
    return Line(session.ended_at, "", text, problem=session.state in ("failed", "interrupted") or bool(session.error))


def _event_line(event: RigEvent) -> Line | None:
    data, rig, when = event.data, event.rig.name, event.time
    match event.name:
        case "session.initialized":
            copy = {1: "registered on the server", None: "could not reach the server yet (it registers when it "
                    "copies)"}.get(data.get("copy_state"), f"on the server in state {data.get('copy_state')}")
            return Line(when, rig, f"Prepared its session folder and description; {copy}.")
        case "session.started":
            what = f" (writing {_name(data['file'])})" if data.get("file") else ""
            return Line(when, rig, f"Started recording{what}.")
        case "session.stopped" | "session.interrupted":
            how = "Stopped" if event.name == "session.stopped" else "Was interrupted"
            frames = f": {data['frames']} frames" if data.get("frames") is not None else ""
            dropped = f", {data['dropped']} dropped" if data.get("dropped") else ""
            errors = f"; {'; '.join(data['errors'])}" if data.get("errors") else ""
            return Line(when, rig, f"{how}{frames}{dropped}{errors}.", problem=bool(dropped or errors)
                        or event.name == "session.interrupted")
        case "spool.failed":
            return Line(when, rig, f"Its camera series failed: {data.get('error') or data.get('reason')}.", True)
        case "task.stopped":
            return Line(when, rig, f"Its task ran {data.get('trials', 0)} trials.")
        case "echo.message" if data.get("kind") == "error":
            payload = data.get("payload") or []
            why = payload[0] if payload and isinstance(payload[0], str) else "no reason given"
            towards = "refused" if data.get("direction") == "sent" else "was told of a failure:"
            return Line(when, rig, f"{towards} {data.get('message')}: {why}.", problem=True)
    return None


def _copies(session: Session) -> list[Line]:
    lines = []
    for transfer in Transfer.objects.filter(exp_ref=session.exp_ref).select_related("rig").order_by("started_at"):
        when = transfer.ended_at or transfer.started_at
        if transfer.outcome == "failed":
            lines.append(Line(when, transfer.rig.name, f"Its copy to the server failed: {transfer.error}", True))
        elif transfer.outcome in ("complete", "finalized"):
            size = f"{transfer.files} file{'' if transfer.files == 1 else 's'}, {si_bytes(transfer.bytes)}"
            verified = ", verified" if transfer.verified else ""
            final = " It was the last device: its copy finalized the session." if transfer.outcome == "finalized" else ""
            lines.append(Line(when, transfer.rig.name, f"Copied its share to the server ({size}{verified}).{final}"))
    return lines


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
