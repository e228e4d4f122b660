"""What other apps may add to the API's answers without the API knowing them.

Open alerts of a rig: an alerts app registers a provider in its AppConfig.ready():

    from labweb.api.hooks import rig_alerts_provide
    rig_alerts_provide(lambda rigs: {rig.pk: [{"id": ..., "kind": ..., "message": ..., "since": ...}] for rig in rigs})

Until one is registered, a rig's `open_alerts` is null (not known), never an empty list (which would say "none").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labweb.fleet.models import Rig

RigAlertsProvider = Callable[[list[Rig]], Mapping[int, list[dict[str, Any]]]]
_rig_alerts: list[RigAlertsProvider] = []


def rig_alerts_provide(provider: RigAlertsProvider | None) -> None:
    """Register the function that gives each rig's open alerts (rig pk -> list of JSON objects); None removes it."""
    _rig_alerts.clear()
    if provider is not None:
        _rig_alerts.append(provider)


def rig_open_alerts(rigs: Iterable[Rig]) -> dict[int, list[dict[str, Any]]] | None:
    """Every rig's open alerts (a rig without any has an empty list), or None when no app provides alerts."""
    if not _rig_alerts:
        return None
    rigs = list(rigs)
    found = _rig_alerts[0](rigs)
    return {rig.pk: list(found.get(rig.pk, [])) for rig in rigs}
