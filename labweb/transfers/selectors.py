"""Reads of transfer records, shaped for the audit pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from labweb.fleet.models import Command
from labweb.records.choices import COPY_COLOURS, CopyState
from labweb.records.models import Session

from .models import Transfer, TransferFile


def transfer_list(
    *,
    rig: str = "",
    subject: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    outcome: str = "",
) -> QuerySet[Transfer]:
    """Transfers, newest first; the dates are the sessions' (from their exp_ref)."""
    transfers = Transfer.objects.select_related("rig", "session")
    if rig:
        transfers = transfers.filter(rig__name=rig)
    if subject:
        transfers = transfers.filter(subject=subject)
    if date_from:
        transfers = transfers.filter(session_date__gte=date_from)
    if date_to:
        transfers = transfers.filter(session_date__lte=date_to)
    if outcome:
        transfers = transfers.filter(outcome=outcome)
    return transfers


def transfer_get(*, pk: int) -> Transfer:
    """One transfer with its rig and session (Transfer.DoesNotExist when there is none)."""
    return Transfer.objects.select_related("rig", "session").get(pk=pk)


def transfer_files(*, transfer: Transfer) -> QuerySet[TransferFile]:
    return TransferFile.objects.filter(transfer=transfer).order_by("path")


def transfer_verify_commands(*, transfer: Transfer, limit: int = 5) -> QuerySet[Command]:
    """The latest re-verify commands sent for this transfer, with who sent them and how they ended."""
    return (
        Command.objects.filter(rig=transfer.rig, action="transfer.verify", params__id=transfer.transfer_id)
        .select_related("issued_by")
        .order_by("-issued_at")[:limit]
    )


def session_copy_states(*, transfers: QuerySet[Transfer], limit: int = 100) -> list[dict[str, Any]]:
    """For each session among these transfers (newest first): every device's copy state on the server.

    A session the dashboard knows lists every rig that took part (its SessionRig copy state); otherwise the
    devices are the rigs that transferred it, with the state their latest transfer left.
    """
    refs = list(
        transfers.exclude(exp_ref="").order_by("-session_date", "-exp_ref").values_list("exp_ref", flat=True).distinct()[:limit]
    )
    sessions = {s.exp_ref: s for s in Session.objects.filter(exp_ref__in=refs).prefetch_related("participants__rig")}
    latest: dict[tuple[str, str], Transfer] = {}
    for record in (
        Transfer.objects.filter(exp_ref__in=refs).exclude(state_after=None).select_related("rig")
        .order_by("exp_ref", "rig__name", "-ended_at", "-pk")
    ):
        latest.setdefault((record.exp_ref, record.rig.name), record)
    rows = []
    for exp_ref in refs:
        devices: dict[str, dict[str, Any]] = {}
        session = sessions.get(exp_ref)
        for part in session.participants.all() if session else []:
            devices[part.rig.name] = _device(part.rig.name, part.rig.kind, part.copy_state)
        for (ref, rig_name), record in latest.items():
            if ref == exp_ref and rig_name not in devices:
                devices[rig_name] = _device(rig_name, record.tag or record.rig.kind, record.state_after)
        rows.append({"exp_ref": exp_ref, "session": session, "devices": [devices[k] for k in sorted(devices)]})
    return rows


def _device(rig: str, tag: str, state: int | None) -> dict[str, Any]:
    label = "unknown" if state is None else CopyState(state).label
    return {"rig": rig, "tag": tag, "state": state, "label": label, "colour": COPY_COLOURS.get(state, "grey")}
