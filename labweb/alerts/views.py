"""The alert history page (filters by rig, rule and state), acknowledgement by operators, the active alerts as
JSON for the navigation bar and the rig cards, and marking a rig out of service."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from labweb.fleet.models import Rig
from labweb.fleet.roles import user_is_operator

from . import selectors
from .choices import ALERT_COLOURS, DELIVERY_COLOURS
from .forms import AlertFilterForm
from .models import Alert, Destination
from .rules import RULES
from .services import alert_acknowledge as acknowledge
from .services import rule_settings

PAGE_SIZE = 50


def alert_list(request):
    form = AlertFilterForm(request.GET or None)
    page = Paginator(selectors.alert_list(**form.filters()), PAGE_SIZE).get_page(request.GET.get("page"))
    for alert in page:
        alert.colour = ALERT_COLOURS.get(alert.state, "grey")
        alert.notes = [(d, DELIVERY_COLOURS.get(d.state, "grey")) for d in alert.deliveries.select_related("destination")]
    rules = [{"spec": RULES[kind], "setting": setting} for kind, setting in rule_settings().items()]
    context = {
        "nav": "alerts", "form": form, "page": page, "is_operator": user_is_operator(request.user),
        "destinations": Destination.objects.all(), "rules": rules,
        "highlight": request.GET.get("alert", ""),
    }
    return render(request, "alerts/alert_list.html", context)


def alerts_active_json(request):
    alerts = [selectors.alert_entry(alert) for alert in selectors.alerts_active()]
    failing = [{"name": d.name, "error": d.last_error[:300]} for d in selectors.destinations_failing()]
    return JsonResponse({"count": len(alerts), "alerts": alerts, "destinations_failing": failing})


@require_POST
def alert_acknowledge(request, pk: int):
    if not user_is_operator(request.user):
        return HttpResponseForbidden("Only operators may acknowledge alerts.")
    alert = get_object_or_404(Alert, pk=pk)
    if acknowledge(alert=alert, user=request.user):
        messages.success(request, f"Acknowledged: {alert.title}")
    else:
        messages.info(request, f"Already {alert.get_state_display().lower()}: {alert.title}")
    return redirect(_back(request, "alert-list"))


@require_POST
def rig_service(request, name: str):
    if not user_is_operator(request.user):
        return HttpResponseForbidden("Only operators may mark a rig out of service.")
    rig = Rig.objects.filter(name=name).first()
    if rig is None:
        raise Http404(f"No rig {name}")
    rig.out_of_service = request.POST.get("out_of_service") == "1"
    rig.save(update_fields=["out_of_service"])
    messages.success(request, f"{rig.name} is {'out of service: no offline alert' if rig.out_of_service else 'back in service'}.")
    return redirect("rig-detail", name=rig.name)


def _back(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse(default)
