"""Writes of transfer records: each transfer.* event a rig sends becomes, or completes, the record of one transfer.

Events can arrive late, twice or out of order (a batch that failed to store is re-sent after later ones), so
every write merges into the record for (rig, transfer id): the files chunks may come before the start, an
outcome is never reopened by a late start, and file rows are keyed by path.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from labweb.fleet.models import Rig, RigEvent
from labweb.records.choices import CopyState
from labweb.records.models import Session, SessionRig
from rigs.layout import LayoutError, exp_ref_parse

from .choices import TransferOutcome, TransferTrigger
from .models import Transfer, TransferFile

log = logging.getLogger(__name__)

ERROR_CHARS = 10_000
_RESULT_FIELDS = ("files", "bytes", "files_copied", "bytes_copied")


def transfer_event_apply(rig: Rig, event: RigEvent) -> list[str]:
    """The applier of every `transfer.*` event (registered in TransfersConfig.ready); others stay in the raw stream.
    Returns the exp_ref of the session whose copy states it changed."""
    write = _WRITERS.get(event.name)
    data = event.data if isinstance(event.data, dict) else {}
    if write is None or (not data.get("id") and event.name != "transfer.verified"):
        return []
    record = write(rig=rig, time=event.time, data=data)
    return [record.exp_ref] if record is not None and record.exp_ref else []


def transfer_start(*, rig: Rig, time: dt.datetime, data: Mapping[str, Any]) -> Transfer:
    """A copy began: record it as running, unless its outcome is in already."""
    record = _transfer_for(rig=rig, data=data)
    record.source = record.source or str(data.get("source") or "")
    record.destination = record.destination or str(data.get("destination") or "")
    record.trigger = record.trigger or _trigger(data.get("trigger"))
    record.started_at = record.started_at or time
    record.save()
    return record


def transfer_files_add(*, rig: Rig, time: dt.datetime, data: Mapping[str, Any]) -> Transfer:
    """One chunk of the manifest: [path, size, hash] rows; a row seen before is left as it is."""
    record = _transfer_for(rig=rig, data=data)
    record.save()
    rows = []
    for row in data.get("files") or []:
        try:
            path, size, digest = row
            rows.append(TransferFile(transfer=record, path=str(path)[:1024], size=int(size), hash=str(digest)[:128]))
        except (TypeError, ValueError):
            log.warning("rig %s transfer %s: malformed file row %r", rig, record.transfer_id, row)
    TransferFile.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return record


def transfer_finish(*, rig: Rig, time: dt.datetime, data: Mapping[str, Any]) -> Transfer:
    """transfer.done / transfer.failed carry the copier's whole result: it is the record's final word."""
    record = _transfer_for(rig=rig, data=data)
    outcome = str(data.get("outcome") or "")
    record.outcome = outcome if outcome in TransferOutcome.values else TransferOutcome.FAILED
    for field in _RESULT_FIELDS:
        setattr(record, field, max(0, _int(data.get(field))))
    record.chunks = _int(data.get("chunks")) if data.get("chunks") is not None else record.chunks
    record.hash_algorithm = str(data.get("hash_algorithm") or "")[:32]
    record.manifest = str(data.get("manifest") or "")
    record.verified = bool(data.get("verified"))
    record.error = str(data.get("error") or "")[:ERROR_CHARS]
    record.message = str(data.get("message") or "")[:ERROR_CHARS]
    record.state_before = _state(data.get("state_before"))
    record.state_after = _state(data.get("state_after"))
    record.source = str(data.get("source") or record.source)
    record.destination = str(data.get("destination") or record.destination)
    record.trigger = record.trigger or _trigger(data.get("trigger"))
    record.started_at = _iso(data.get("start")) or record.started_at or time
    record.ended_at = _iso(data.get("end")) or time
    record.seconds = _float(data.get("seconds"))
    if data.get("tag"):
        record.tag = str(data["tag"])[:32]
    record.save()
    session_copy_state_update(record=record)
    return record


def transfer_verified_record(*, rig: Rig, time: dt.datetime, data: Mapping[str, Any]) -> Transfer | None:
    """A re-verification of the server copy: kept on the transfer it names, else on the rig's latest successful
    transfer of that session and device; files it found bad are marked, the others ok."""
    record = None
    if data.get("id"):
        record = Transfer.objects.filter(rig=rig, transfer_id=str(data["id"])).first()
    if record is None and data.get("exp_ref"):
        record = (
            Transfer.objects.filter(rig=rig, exp_ref=str(data["exp_ref"]), outcome__in=TransferOutcome.succeeded())
            .filter(tag=str(data.get("tag") or rig.kind))
            .order_by("-ended_at", "-pk")
            .first()
        )
    if record is None:
        log.info("rig %s verified %s, which no transfer record holds", rig, data.get("exp_ref"))
        return None
    if record.rechecked_at and record.rechecked_at > time:
        return record  # an older report arriving late does not replace a newer one
    bad = {str(b.get("path")): str(b.get("status") or "error")[:16] for b in data.get("bad") or [] if isinstance(b, dict)}
    record.recheck_ok = bool(data.get("ok"))
    record.rechecked_at = time
    record.recheck = {k: data.get(k) for k in ("ok", "files", "bad_count", "bad", "errors", "manifests")}
    record.save(update_fields=["recheck_ok", "rechecked_at", "recheck"])
    files = TransferFile.objects.filter(transfer=record)
    # The rig lists at most 100 bad files: when it found more, the unlisted ones are not known to be good.
    complete = bool(data.get("files")) and _int(data.get("bad_count")) <= len(bad)
    files.update(recheck_status="ok" if complete else "")
    for path, status in bad.items():
        files.filter(path=path).update(recheck_status=status)
    return record


def session_copy_state_update(*, record: Transfer) -> None:
    """The device's copy state on the session record (which rig took part is learnt here if need be); when a
    transfer finalized the session, every device is final and the session records when (the first time only)."""
    if record.session_id is None or record.state_after is None:
        return
    participant, _ = SessionRig.objects.get_or_create(session_id=record.session_id, rig=record.rig)
    # Forward only: two rigs' reports cross on the way (the one that finalized may be stored first).
    if participant.copy_state is None or record.state_after > participant.copy_state:
        participant.copy_state = record.state_after
        participant.save(update_fields=["copy_state", "updated_at"])
    if record.state_after == CopyState.FINALIZED:
        SessionRig.objects.filter(session_id=record.session_id).update(copy_state=CopyState.FINALIZED)
        Session.objects.filter(pk=record.session_id, finalized_at=None).update(finalized_at=record.ended_at)


def _transfer_for(*, rig: Rig, data: Mapping[str, Any]) -> Transfer:
    """The record of this transfer, created on first sight, with what any of its events says about the session."""
    record, _ = Transfer.objects.get_or_create(rig=rig, transfer_id=str(data["id"])[:64])
    exp_ref = str(data.get("exp_ref") or "")[:100]
    if exp_ref and not record.exp_ref:
        record.exp_ref = exp_ref
        try:
            ref = exp_ref_parse(exp_ref)
        except LayoutError:
            ref = None  # kept as the rig said it; the audit shows it
        if ref is not None:
            record.subject, record.session_date = ref.subject, ref.date
        record.session = Session.objects.filter(exp_ref=exp_ref).first()
    if data.get("tag") and not record.tag:
        record.tag = str(data["tag"])[:32]
    return record


def _trigger(value: Any) -> str:
    return value if value in TransferTrigger.values else ""


def _state(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value in CopyState.values else None


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _iso(value: Any) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)



_WRITERS = {
    "transfer.started": transfer_start,
    "transfer.files": transfer_files_add,
    "transfer.done": transfer_finish,
    "transfer.failed": transfer_finish,
    "transfer.verified": transfer_verified_record,
}
