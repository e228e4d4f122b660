"""History as JSON for the charts: one rig over an hour, a day or a week, and every rig's last minutes for cards."""

from __future__ import annotations

from django.http import Http404, HttpResponseBadRequest, JsonResponse

from labweb.fleet.models import Rig

from . import selectors


def rig_history(request, name: str):
    range_name = request.GET.get("range", "hour")
    if range_name not in selectors.RANGES:
        return HttpResponseBadRequest(f"range must be one of {', '.join(selectors.RANGES)}")
    rig = Rig.objects.filter(name=name).first()
    if rig is None:
        raise Http404(f"No rig {name}")
    return JsonResponse(selectors.rig_history(rig=rig, range_name=range_name))


def rigs_recent(request):
    try:
        minutes = min(60.0, max(1.0, float(request.GET.get("minutes", 15))))
    except ValueError:
        return HttpResponseBadRequest("minutes must be a number")
    return JsonResponse({"rigs": selectors.rigs_recent(minutes=minutes)})
