"""The front page: every rig as a live card."""

from django.shortcuts import render

from labweb.records.roles import user_is_operator


def dashboard(request):
    return render(request, "live/dashboard.html", {"nav": "rigs", "is_operator": user_is_operator(request.user)})
