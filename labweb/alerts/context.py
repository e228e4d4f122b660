"""Template context processor: the number of active alerts, for the navigation bar of every page."""

from __future__ import annotations

from typing import Any

from .selectors import alerts_active_count


def alerts_context(request) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"active_alert_count": alerts_active_count()}
