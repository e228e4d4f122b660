"""`/metrics` for Prometheus: per rig (online, disk, frames/s, MB/s, drops, queue, copies) and per dashboard
(agents and browsers connected, events stored, open alerts, failing notification destinations), and per process
what the channel layer dropped or failed of the process's own sends (labweb.live.layer).

The figures come from the database (every dashboard process saves its rigs' latest status there every 2 s), so
any process answers for the whole lab. Access: `Authorization: Bearer <LABWEB_METRICS_TOKEN>` or a client
address in LABWEB_METRICS_ALLOW (loopback by default); no login, Prometheus has none.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Iterator

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Max, Q, Sum
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from labweb.alerts.choices import AlertKind, AlertState
from labweb.alerts.jobs import jobs_ensure
from labweb.alerts.models import Alert, Destination
from labweb.alerts.rules import clock_offset
from labweb.fleet import presence
from labweb.fleet.models import Rig, RigEvent
from labweb.live import layer as layer_counts
from labweb.live.board import DASHBOARD_GROUP, get_board
from labweb.spooling.models import SpoolRun
from labweb.transfers.choices import TransferOutcome
from labweb.transfers.models import Transfer

log = logging.getLogger(__name__)


@login_not_required
async def metrics(request):
    if not _allowed(request):
        log.warning("/metrics refused for %s: no valid token and not in LABWEB_METRICS_ALLOW",
                    request.META.get("REMOTE_ADDR"))
        return HttpResponseForbidden("A metrics token or an allowed address is needed.\n")
    board = get_board()
    jobs_ensure(board)  # a scraped dashboard checks its alerts even when no rig or browser has connected yet
    browsers = await browsers_connected()
    families = await sync_to_async(_families)(len(board.agents), browsers)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families + _layer_families()))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _allowed(request) -> bool:
    token = settings.LABWEB_METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.lower().startswith("bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for allowed in settings.LABWEB_METRICS_ALLOW:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            log.warning("LABWEB_METRICS_ALLOW: %r is not an address or network", allowed)
    return False


async def browsers_connected() -> float:
    """Browser sockets in the live group: from the in-memory layer's own table, or Redis' group set (with Redis,
    a killed process's browsers count until the group's expiry, a day by default)."""
    layer = get_channel_layer()
    groups = getattr(layer, "groups", None)
    if isinstance(groups, dict):
        return float(len(groups.get(DASHBOARD_GROUP, {})))
    if hasattr(layer, "_group_key") and hasattr(layer, "connection"):
        try:
            connection = layer.connection(layer.consistent_hash(DASHBOARD_GROUP))
            return float(await connection.zcount(layer._group_key(DASHBOARD_GROUP), time.time() - layer.group_expiry, "+inf"))
        except Exception:  # noqa: BLE001 - a metric we cannot read is left out, the rest still answers
            log.exception("could not count browsers in the channel layer")
    return float("nan")


def _layer_families() -> list[Metric]:
    """This process's sends the channel layer lost: frames to browsers, commands to agents (counts since start)."""
    layer_counts.counting_install()
    dropped = CounterMetricFamily("labweb_process_layer_dropped",
                                  "Channels a message sent by this process did not reach because they were full "
                                  "(a browser then resyncs from a snapshot; a command expires).", labels=["group"])
    failed = CounterMetricFamily("labweb_process_layer_send_failures",
                                 "Group sends of this process that failed outright (channel layer unreachable).",
                                 labels=["group"])
    for kind in ("dashboard", "agent"):
        dropped.add_metric([kind], float(layer_counts.dropped[kind]))
        failed.add_metric([kind], float(layer_counts.failed[kind]))
    return [dropped, failed]


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _families(process_agents: int, browsers: float) -> list[Metric]:
    rigs = list(Rig.objects.all())
    spool = {row["rig"]: row for row in SpoolRun.objects.values("rig").annotate(dropped=Sum("dropped"), runs=Count("id"))}
    copies = {row["rig"]: row for row in Transfer.objects.values("rig").annotate(
        bytes=Sum("bytes_copied"), failed=Count("id", filter=Q(outcome=TransferOutcome.FAILED)))}
    since = presence.fresh_after()

    def gauge(name, doc, unit=""):
        return GaugeMetricFamily(f"labweb_{name}", doc, labels=["rig"], unit=unit)

    online = gauge("rig_online", "1 while the rig's agent is connected and heard.")
    out_of_service = gauge("rig_out_of_service", "1 while the rig is marked out of service (a planned absence).")
    disk_free = gauge("rig_disk_free_bytes", "Free space on the rig's data disk.")
    disk_total = gauge("rig_disk_total_bytes", "Size of the rig's data disk.")
    fps = gauge("rig_spool_frames_per_second", "Frames written per second by the rig's spooler (0 when idle).")
    write = gauge("rig_spool_write_bytes_per_second", "Bytes written per second to disk by the rig's spooler.")
    queue = gauge("rig_spool_queue_fill_ratio", "Fill of the camera-side buffer, 0-1 (1: frames are being dropped).")
    series_drops = gauge("rig_spool_series_dropped_frames", "Frames dropped in the rig's current or last series.")
    drops = CounterMetricFamily("labweb_rig_spool_dropped_frames", "Frames dropped in every series the rig recorded.",
                                labels=["rig"])
    copy_rate = gauge("rig_copy_bytes_per_second", "Rate of the copy under way (0: none).")
    copy_bytes = CounterMetricFamily("labweb_rig_copy_bytes", "Bytes copied to the server by every recorded copy.",
                                     labels=["rig"])
    copy_failures = CounterMetricFamily("labweb_rig_copy_failures", "Copies that failed.", labels=["rig"])
    clock = gauge("rig_clock_offset_seconds", "How far the rig's clock is behind the dashboard's (negative: ahead).")
    for rig in rigs:
        status = rig.last_status or {}
        is_online = presence.rig_is_online(rig, since=since)
        online.add_metric([rig.name], 1.0 if is_online else 0.0)
        out_of_service.add_metric([rig.name], 1.0 if rig.out_of_service else 0.0)
        disk = status.get("disk") if isinstance(status.get("disk"), dict) else {}
        if disk.get("free") is not None:
            disk_free.add_metric([rig.name], float(disk["free"]))
            disk_total.add_metric([rig.name], float(disk.get("total") or 0))
        part = status.get("spool") if isinstance(status.get("spool"), dict) else None
        if part is not None:
            active = bool(part.get("active")) and is_online
            fps.add_metric([rig.name], float(part.get("fps") or 0) if active else 0.0)
            write.add_metric([rig.name], float(part.get("mb_s_disk") or 0) * 1e6 if active else 0.0)
            queue.add_metric([rig.name], float(part.get("queue_fill") or 0) if active else 0.0)
            series_drops.add_metric([rig.name], float(part.get("dropped") or 0))
        transfer = status.get("transfer") if isinstance(status.get("transfer"), dict) else None
        if transfer is not None:
            copy_rate.add_metric([rig.name], float(transfer.get("rate") or 0) if transfer.get("active") and is_online else 0.0)
        drops.add_metric([rig.name], float((spool.get(rig.pk) or {}).get("dropped") or 0))
        copy_bytes.add_metric([rig.name], float((copies.get(rig.pk) or {}).get("bytes") or 0))
        copy_failures.add_metric([rig.name], float((copies.get(rig.pk) or {}).get("failed") or 0))
        offset = clock_offset(rig)
        if is_online and offset is not None:
            clock.add_metric([rig.name], round(offset, 3))

    agents = GaugeMetricFamily("labweb_agents_connected", "Rig agents connected to the dashboard (all processes).",
                               value=sum(1 for r in rigs if presence.rig_is_online(r, since=since)))
    local = GaugeMetricFamily("labweb_process_agents_connected", "Rig agents connected to the process that answered.",
                              value=process_agents)
    browser = GaugeMetricFamily("labweb_browsers_connected", "Browser pages with a live link to the dashboard.",
                                value=browsers)
    events = CounterMetricFamily("labweb_events_stored", "Durable rig events stored (the highest event id).",
                                 value=float(RigEvent.objects.aggregate(n=Max("id"))["n"] or 0))
    active = dict(Alert.objects.filter(state__in=AlertState.active()).values("kind").annotate(n=Count("id"))
                  .values_list("kind", "n"))
    alerts = GaugeMetricFamily("labweb_alerts_active", "Alerts open or acknowledged, by rule.", labels=["kind"])
    for kind in AlertKind.values:
        alerts.add_metric([kind], float(active.get(kind, 0)))
    failing = GaugeMetricFamily("labweb_notification_destination_failing",
                                "1 while the latest notification to a destination failed.", labels=["destination"])
    for destination in Destination.objects.filter(enabled=True):
        failing.add_metric([destination.name], 1.0 if destination.failing else 0.0)
    return [online, out_of_service, disk_free, disk_total, fps, write, queue, series_drops, drops, copy_rate,
            copy_bytes, copy_failures, clock, agents, local, browser, events, alerts, failing]
