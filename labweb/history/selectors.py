"""Reads of the history, shaped for charts: columns of numbers per time bucket, as uPlot draws them."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.db.models import Avg, BigIntegerField, Count, ExpressionWrapper, F, Max, Min, Sum

from labweb.fleet.models import Rig
from labweb.transfers.models import Transfer

from .models import RigSample

# Chart ranges: how far back, and how wide each point is (a few hundred to about a thousand points per chart).
RANGES = {"15min": (900, 10), "hour": (3600, 10), "day": (86400, 60), "week": (7 * 86400, 600)}
# The disk-free trend is taken over this much of the latest history when the rig's spooler is not writing.
TREND_SECONDS = 900


def rig_history(*, rig: Rig, range_name: str, now: float | None = None) -> dict[str, Any]:
    """A rig's history over one of RANGES: columns (t, fps, ...), its copies, and when its disk will be full."""
    span, width = RANGES[range_name]
    width = max(width, settings.LABWEB_HISTORY_BUCKET_SECONDS)
    now = time.time() if now is None else now
    since = int(now - span)
    columns = _columns(RigSample.objects.filter(rig=rig, t__gte=since), width)
    return {
        "rig": rig.name,
        "range": range_name,
        "since": since,
        "until": int(now),
        "width": width,
        "bucket": settings.LABWEB_HISTORY_BUCKET_SECONDS,
        **columns,
        "copies": _copies(rig, since),
        "disk_full": disk_full_forecast(rig=rig, now=now),
    }


def rigs_recent(*, minutes: float = 15, now: float | None = None) -> dict[str, dict[str, list]]:
    """Every rig's frames/s and MB/s over the last minutes at full resolution, for the cards' rate charts."""
    now = time.time() if now is None else now
    rows = (RigSample.objects.filter(t__gte=int(now - minutes * 60)).order_by("rig_id", "t")
            .values_list("rig_id", "t", "fps", "mb_s"))
    names = dict(Rig.objects.values_list("pk", "name"))
    out: dict[str, dict[str, list]] = {}
    for rig_id, t, fps, mb_s in rows:
        series = out.setdefault(names.get(rig_id, str(rig_id)), {"t": [], "fps": [], "mb_s": []})
        series["t"].append(t)
        series["fps"].append(fps)
        series["mb_s"].append(mb_s)
    return out


def disk_full_forecast(*, rig: Rig, now: float | None = None) -> dict[str, Any] | None:
    """When the rig's data disk will be full: at its spooler's current write rate, else at the rate its free space
    fell over the last 15 minutes; None when it is not filling."""
    from labweb.alerts.rules import write_rate  # the rule and the chart use one definition of the rate

    now = time.time() if now is None else now
    disk = (rig.last_status or {}).get("disk") or {}
    free = disk.get("free") if isinstance(disk, dict) else None
    rate, basis = write_rate(rig), "spooler"
    recent = list(RigSample.objects.filter(rig=rig, t__gte=int(now - TREND_SECONDS), disk_free__isnull=False)
                  .order_by("t").values_list("t", "disk_free"))
    if rate <= 0 and len(recent) >= 2 and recent[-1][0] > recent[0][0]:
        rate = (recent[0][1] - recent[-1][1]) / (recent[-1][0] - recent[0][0])
        basis = "trend"
    if free is None and recent:
        free = recent[-1][1]
    if not isinstance(free, int | float) or rate <= 0:
        return None
    return {"free": free, "rate": rate, "basis": basis, "at": now + free / rate}


def _columns(rows, width: int) -> dict[str, list]:
    bucket = ExpressionWrapper(F("t") / width * width, output_field=BigIntegerField())
    grouped = (
        rows.annotate(b=bucket).values("b").order_by("b").annotate(
            n=Count("id"), fps=Avg("fps"), fps_min=Min("fps_min"), mb_s=Avg("mb_s"), mb_s_max=Max("mb_s_max"),
            queue_max=Max("queue_max"), drops=Sum("drops"), disk_free=Min("disk_free"),
            disk_total=Max("disk_total"), copy_rate=Avg("copy_rate"),
        )
    )
    names = ("fps", "fps_min", "mb_s", "mb_s_max", "queue_max", "drops", "disk_free", "disk_total", "copy_rate")
    columns: dict[str, list] = {"t": [], "online": [], **{name: [] for name in names}}
    per_bucket = max(1, width // settings.LABWEB_HISTORY_BUCKET_SECONDS)
    for row in grouped:
        columns["t"].append(row["b"])
        # The share of the bucket the rig was connected for: 1 online throughout, 0 never.
        columns["online"].append(round(min(1.0, row["n"] / per_bucket), 3))
        for name in names:
            value = row[name]
            columns[name].append(round(value, 3) if isinstance(value, float) else value)
    return columns


def _copies(rig: Rig, since: int) -> list[dict[str, Any]]:
    start = dt.datetime.fromtimestamp(since, tz=dt.UTC)
    transfers = Transfer.objects.filter(rig=rig, started_at__gte=start).order_by("started_at")[:500]
    return [
        {"exp_ref": t.exp_ref, "outcome": t.outcome, "start": t.started_at.timestamp() if t.started_at else None,
         "end": t.ended_at.timestamp() if t.ended_at else None, "bytes": t.bytes_copied, "error": t.error[:300]}
        for t in transfers
    ]
