"""The transfer audit: where every session's data went, file by file, with CSV exports and re-verification."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from labweb.fleet.commands import CommandRefused, command_send
from labweb.fleet.roles import user_is_operator

from . import selectors
from .choices import OUTCOME_COLOURS
from .forms import TransferFilterForm
from .models import Transfer

PAGE_SIZE = 50
FILES_PAGE_SIZE = 500
LIST_COLUMNS = [
    "transfer_id", "rig", "tag", "exp_ref", "subject", "session_date", "trigger", "outcome", "started_at", "ended_at",
    "seconds", "files", "bytes", "files_copied", "bytes_copied", "hash_algorithm", "verified", "recheck_ok",
    "rechecked_at", "state_before", "state_after", "source", "destination", "manifest", "error",
]


def transfer_list(request):
    form = TransferFilterForm(request.GET or None)
    transfers = selectors.transfer_list(**form.filters())
    page = Paginator(transfers, PAGE_SIZE).get_page(request.GET.get("page"))
    for record in page:
        record.outcome_colour = OUTCOME_COLOURS.get(record.outcome, "grey")
    context = {"nav": "transfers", "form": form, "page": page,
               "copy_states": selectors.session_copy_states(transfers=transfers)}
    return render(request, "transfers/transfer_list.html", context)


def transfer_list_csv(request):
    form = TransferFilterForm(request.GET or None)
    transfers = selectors.transfer_list(**form.filters()).order_by("started_at", "pk")
    rows = ([_cell(getattr(t, c) if c != "rig" else t.rig.name) for c in LIST_COLUMNS] for t in transfers.iterator())
    return _csv("transfers.csv", LIST_COLUMNS, rows)


def transfer_detail(request, pk: int):
    record = _transfer_or_404(pk)
    record.outcome_colour = OUTCOME_COLOURS.get(record.outcome, "grey")
    files = Paginator(selectors.transfer_files(transfer=record), FILES_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "transfers",
        "transfer": record,
        "page": files,
        "bad_files": (record.recheck or {}).get("bad") or [],
        "commands": selectors.transfer_verify_commands(transfer=record),
        "is_operator": user_is_operator(request.user),
    }
    return render(request, "transfers/transfer_detail.html", context)


def transfer_files_csv(request, pk: int):
    record = _transfer_or_404(pk)
    columns = ["path", "size", "hash_algorithm", "hash", "recheck"]
    rows = ([_cell(f.path), f.size, _cell(record.hash_algorithm), _cell(f.hash), _cell(f.recheck_status)]
            for f in selectors.transfer_files(transfer=record).iterator())
    return _csv(f"transfer-{record.exp_ref or record.transfer_id}-{record.rig.name}-files.csv", columns, rows)


@require_POST
def transfer_reverify(request, pk: int):
    """Ask the rig to re-hash the server copy against its manifest; the outcome comes back as transfer.verified."""
    record = _transfer_or_404(pk)
    params = {"exp_ref": record.exp_ref, "tag": record.tag or record.rig.kind, "id": record.transfer_id}
    try:
        command_send(user=request.user, rig=record.rig, action="transfer.verify", params=params)
    except CommandRefused as refused:
        if not user_is_operator(request.user):  # recorded as refused by command_send; a viewer gets a 403
            return HttpResponseForbidden(f"Re-verify refused: {refused}", content_type="text/plain; charset=utf-8")
        messages.error(request, f"Re-verify refused: {refused}")
    else:
        messages.success(request, f"Re-verify sent to {record.rig.name}; its outcome shows here when the rig reports it.")
    return redirect("transfer-detail", pk=record.pk)


def _transfer_or_404(pk: int) -> Transfer:
    try:
        return selectors.transfer_get(pk=pk)
    except Transfer.DoesNotExist:
        raise Http404(f"No transfer {pk}") from None


def _csv(filename: str, header: list[str], rows: Iterable[list]) -> HttpResponse:
    # A plain response: under ASGI a streaming one would be gathered into a list before sending anyway.
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{download_name(filename)}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


# A spreadsheet runs a cell starting with one of these as a formula (`=HYPERLINK(...)`, `@SUM(...)`, and a tab or
# carriage return before them); rig-supplied text (paths, exp_refs, errors) must never be one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _cell(value) -> object:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # OWASP's advice: a leading quote makes the cell text
    return value


def download_name(name: str) -> str:
    """A file name safe in a Content-Disposition header on every OS: no quotes, line breaks or path parts."""
    cleaned = _UNSAFE_NAME.sub("_", name).strip("._") or "download"
    return cleaned[:150]
