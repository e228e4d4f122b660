"""`{% rig_alerts rig %}`: a rig's active alerts, for the rig page (the cards get theirs as JSON)."""

from django import template

from ..choices import ALERT_COLOURS, AlertState
from ..models import Alert

register = template.Library()


@register.inclusion_tag("alerts/_rig_alerts.html", takes_context=True)
def rig_alerts(context, rig):
    alerts = list(Alert.objects.filter(rig=rig, state__in=AlertState.active()))
    for alert in alerts:
        alert.colour = ALERT_COLOURS.get(alert.state, "grey")
    return {"rig": rig, "alerts": alerts, "request": context.get("request"), "perms": context.get("perms"),
            "csrf_token": context.get("csrf_token")}
