"""The live front page: every rig's card, updated over the dashboard socket."""

from __future__ import annotations

from django.shortcuts import render

from labweb.fleet.roles import user_is_operator


def dashboard(request):
    return render(request, "live/dashboard.html", {"nav": "rigs", "is_operator": user_is_operator(request.user)})
