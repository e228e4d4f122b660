"""How every page writes sizes and times, so the same copy reads the same on every page and in the browser.

Sizes are decimal SI (1 MB = 1,000,000 bytes, as disks are sold and as the live pages' format.js writes them).
Times are written in the dashboard's time zone (LABWEB_TIME_ZONE), with the zone, relative where a glance
is what a person wants and the exact time on hover.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


@register.filter
def si_bytes(value) -> str:
    """1234567 -> '1.2 MB' (decimal units; one decimal below 10, none above)."""
    try:
        size = float(value)
    except (TypeError, ValueError):
        return "—"
    unit = 0
    while size >= 1000 and unit < len(UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.1f} {UNITS[unit]}" if size < 10 and unit else f"{size:.0f} {UNITS[unit]}"


@register.filter
def exact(value) -> str:
    """'2026-12-06 17:47:58 UTC': the exact local time with its zone."""
    if not isinstance(value, dt.datetime):
        return "—"
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


@register.filter
def when(value, style: str = "exact"):
    """A <time> element: the exact time (style 'exact', or 'relative': '3 min ago'), the other on hover.
    Relative times are kept current by the page (format.js)."""
    if not isinstance(value, dt.datetime):
        return "—"
    stamp = value.timestamp()
    if style == "relative":
        return format_html('<time class="relative" datetime="{}" data-epoch="{}" title="{}">{}</time>',
                           value.isoformat(), stamp, exact(value), _ago(value))
    return format_html('<time datetime="{}" data-epoch="{}" title="{}">{}</time>', value.isoformat(), stamp,
                       _ago(value), exact(value))


def _ago(value: dt.datetime) -> str:
    seconds = max(0.0, (timezone.now() - value).total_seconds())
    if seconds < 2:
        return "just now"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 129600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
