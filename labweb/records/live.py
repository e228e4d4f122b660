"""A session as its live page shows it: the same entry renders the page and redraws it when the session changes.

The entry holds words and colours as well as states, so the browser draws exactly what the server would
(one vocabulary: records/choices.py), and every value comes from the records the rigs' events built.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch

from labweb.transfers.choices import OUTCOME_COLOURS, TransferOutcome
from labweb.transfers.models import Transfer

from .choices import COPY_COLOURS, SESSION_COLOURS, CopyState, SessionState
from .models import Session, SessionRig


def session_entries(exp_refs: Iterable[str]) -> list[dict[str, Any]]:
    sessions = (Session.objects.filter(exp_ref__in=list(exp_refs)).select_related("subject")
                .prefetch_related(Prefetch("participants", queryset=SessionRig.objects.select_related("rig"))))
    return [session_entry(session) for session in sessions]


def session_entry(session: Session) -> dict[str, Any]:
    participants = list(session.participants.all())
    latest = _latest_transfers(session)
    rigs = [_participant_entry(part, latest.get(part.rig_id)) for part in participants]
    complete = sum(1 for part in participants if (part.copy_state or 0) >= CopyState.COMPLETE)
    return {
        "exp_ref": session.exp_ref,
        "state": session.state,
        "label": SessionState(session.state).label,
        "colour": SESSION_COLOURS.get(session.state, "grey"),
        "active": session.state in SessionState.active(),
        "started_at": _epoch(session.started_at),
        "ended_at": _epoch(session.ended_at),
        "duration": session.duration,
        "ended_by": session.ended_by,
        "error": session.error,
        "data": _data_state(session, complete, len(participants)),
        "rigs": rigs,
    }


def _data_state(session: Session, complete: int, total: int) -> dict[str, Any]:
    """Where the session's data are: on every rig still, being copied, or finalized on the server."""
    if session.state == SessionState.RESERVED:
        return {"label": "Not recorded yet", "colour": "grey", "finalized": False, "at": None}
    if session.finalized_at is not None:
        return {"label": "Finalized", "colour": "green", "finalized": True, "at": _epoch(session.finalized_at)}
    if session.state in SessionState.active():
        return {"label": "Recording", "colour": "grey", "finalized": False, "at": None}
    if session.state == SessionState.FAILED and not complete:
        return {"label": "No data", "colour": "grey", "finalized": False, "at": None}
    return {"label": f"Copied {complete} of {total}", "colour": "blue" if complete else "orange", "finalized": False,
            "at": None}


def _participant_entry(part: SessionRig, transfer: Transfer | None) -> dict[str, Any]:
    copy_state = part.copy_state
    return {
        "rig": part.rig.name,
        "kind": part.rig.kind,
        "is_main": part.is_main,
        "is_main_sync": part.is_main_sync,
        "state": part.state,
        "label": SessionState(part.state).label,
        "colour": SESSION_COLOURS.get(part.state, "grey"),
        "copy_state": copy_state,
        "copy_label": "Not registered yet" if copy_state is None else CopyState(copy_state).label,
        "copy_colour": "grey" if copy_state is None else COPY_COLOURS.get(copy_state, "grey"),
        "transfer": _transfer_entry(transfer),
    }


def _transfer_entry(transfer: Transfer | None) -> dict[str, Any] | None:
    if transfer is None:
        return None
    return {
        "id": transfer.pk,
        "outcome": transfer.outcome,
        "label": TransferOutcome(transfer.outcome).label,
        "colour": OUTCOME_COLOURS.get(transfer.outcome, "grey"),
        "error": transfer.error,
        "files": transfer.files,
        "verified": transfer.verified,
        "ended_at": _epoch(transfer.ended_at),
    }


def _latest_transfers(session: Session) -> dict[int, Transfer]:
    latest: dict[int, Transfer] = {}
    for transfer in Transfer.objects.filter(exp_ref=session.exp_ref).order_by("rig_id", "-started_at", "-pk"):
        latest.setdefault(transfer.rig_id, transfer)
    return latest


def _epoch(when) -> float | None:
    return when.timestamp() if when else None
