"""Pages that act on rigs: the live front page, and starting or ending a multi-rig session."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from labweb.records import services
from labweb.records.choices import SessionState
from labweb.records.forms import SessionStartForm
from labweb.records.models import Session
from labweb.records.roles import user_is_operator

from .commands import CommandRefused, command_send


def dashboard(request):
    return render(request, "live/dashboard.html", {"nav": "rigs", "is_operator": user_is_operator(request.user)})


@permission_required("records.send_command", raise_exception=True)
def session_start(request):
    """The database allocates the number; the main rig's agent then drives every chosen rig over the echo protocol."""
    form = SessionStartForm(request.POST or None, initial=request.GET.dict() or None)
    if request.method == "POST" and form.is_valid():
        session = _session_start(request, form.cleaned_data)
        return redirect("session-detail", exp_ref=session.exp_ref)
    return render(request, "live/session_start.html", {"nav": "sessions", "form": form})


def _session_start(request, data: dict) -> Session:
    rigs, main, main_sync = list(data["rigs"]), data["main"], data["main_sync"]
    with transaction.atomic():
        session = services.session_create(subject=data["subject"], created_by=request.user, rigs=rigs, main_rig=main)
        session.participants.filter(rig=main_sync).update(is_main_sync=True)
    params = {"subject": session.subject.name, "exp_ref": session.exp_ref, "main_sync": main_sync.name,
              "rigs": {rig.name: rig.echo_uri for rig in rigs}}
    if data.get("duration"):
        params["duration"] = data["duration"]
    try:
        command_send(user=request.user, rig=main, action="session.start", params=params)
    except CommandRefused as refused:
        Session.objects.filter(pk=session.pk).update(state=SessionState.FAILED)
        messages.error(request, f"Session {session.exp_ref} could not start: {refused}")
    else:
        messages.success(request, f"Session {session.exp_ref}: {main.name} is starting {len(rigs)} rigs.")
    return session


@require_POST
@permission_required("records.send_command", raise_exception=True)
def session_control(request, exp_ref: str):
    """Stop (EXPEND) or interrupt (EXPINTERRUPT) a running session through the rig that drives it."""
    session = get_object_or_404(Session, exp_ref=exp_ref)
    action = {"stop": "session.stop", "interrupt": "session.interrupt"}.get(request.POST.get("action", ""))
    main = session.participants.filter(is_main=True).select_related("rig").first()
    if action is None or main is None:
        messages.error(request, "This session has no main rig to stop it through." if main is None else "Unknown action.")
    else:
        try:
            command_send(user=request.user, rig=main.rig, action=action, params={"exp_ref": exp_ref})
            messages.success(request, f"{main.rig.name} is ending session {exp_ref} ({request.POST['action']}).")
        except CommandRefused as refused:
            messages.error(request, str(refused))
    return redirect("session-detail", exp_ref=exp_ref)
