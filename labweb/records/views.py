"""Pages for subjects and sessions: what a lab manager needs day to day without the admin."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from labweb.fleet.commands import CommandRefused
from labweb.fleet.roles import user_is_operator

from . import selectors, services
from .choices import SESSION_COLOURS, SessionState
from .forms import SessionFilterForm, SessionStartForm, SubjectForm
from .live import session_entry
from .models import Session, Subject
from .story import session_story

PAGE_SIZE = 50
EVENT_PAGE_SIZE = 50
EVENT_SUMMARY_CHARS = 160


def subject_list(request):
    query = request.GET.get("q", "").strip()
    # order_by again: Meta.ordering does not apply to a GROUP BY query.
    subjects = (
        selectors.subject_list(search=query)
        .select_related("responsible")
        .annotate(session_count=Count("sessions"))
        .order_by("name")
    )
    page = Paginator(subjects, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "records/subject_list.html", {"nav": "subjects", "page": page, "q": query})


def subject_detail(request, name: str):
    subject = _subject_or_404(name)
    page = Paginator(selectors.session_list(subject=subject.name), PAGE_SIZE).get_page(request.GET.get("page"))
    _colour_sessions(page)
    return render(request, "records/subject_detail.html", {"nav": "subjects", "subject": subject, "page": page})


@permission_required("records.add_subject", raise_exception=True)
def subject_add(request):
    form = SubjectForm(request.POST or None, initial={"responsible": request.user.pk})
    if request.method == "POST" and form.is_valid():
        subject = services.subject_create(**form.cleaned_data)
        messages.success(request, f"Subject {subject.name} added.")
        return redirect("subject-detail", name=subject.name)
    return render(request, "records/subject_form.html", {"nav": "subjects", "form": form, "subject": None})


@permission_required("records.change_subject", raise_exception=True)
def subject_edit(request, name: str):
    subject = _subject_or_404(name)
    form = SubjectForm(request.POST or None, instance=subject)
    if request.method == "POST" and form.is_valid():
        subject = form.save()
        messages.success(request, f"Subject {subject.name} saved.")
        return redirect("subject-detail", name=subject.name)
    return render(request, "records/subject_form.html", {"nav": "subjects", "form": form, "subject": subject})


def session_list(request):
    form = SessionFilterForm(request.GET or None)
    page = Paginator(selectors.session_list(**form.filters()), PAGE_SIZE).get_page(request.GET.get("page"))
    _colour_sessions(page)
    return render(request, "records/session_list.html", {"nav": "sessions", "form": form, "page": page})


def session_detail(request, exp_ref: str):
    try:
        session = selectors.session_get(exp_ref=exp_ref)
    except Session.DoesNotExist:
        raise Http404(f"No session {exp_ref}") from None
    events = list(selectors.session_events(session=session))
    log_filter = {"rig": request.GET.get("rig", ""), "event": request.GET.get("event", "")}
    shown = sorted((e for e in events if (not log_filter["rig"] or e.rig.name == log_filter["rig"])
                    and (not log_filter["event"] or e.name.split(".")[0] == log_filter["event"])),
                   key=lambda e: (e.time, e.rig.name, e.seq))
    page = Paginator(shown, EVENT_PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.summary = _event_summary(event.data, event.name)
    context = {"nav": "sessions", "session": session, "entry": session_entry(session),
               "story": session_story(session, sorted(events, key=lambda e: e.time)), "page": page,
               "event_count": len(events), "log_filter": log_filter, "log_open": any(log_filter.values()) or
               "page" in request.GET, "log_rigs": sorted({e.rig.name for e in events}),
               "log_kinds": sorted({e.name.split(".")[0] for e in events}), "can_end": user_is_operator(request.user)}
    return render(request, "records/session_detail.html", context)


def session_story_lines(request, exp_ref: str):
    """The story alone, for the session page to redraw as the session moves on (its live script asks for it)."""
    try:
        session = selectors.session_get(exp_ref=exp_ref)
    except Session.DoesNotExist:
        raise Http404(f"No session {exp_ref}") from None
    events = sorted(selectors.session_events(session=session), key=lambda e: e.time)
    response = render(request, "records/_story.html", {"story": session_story(session, events)})
    response["X-Event-Count"] = str(len(events))  # the folded log's count, redrawn with the story
    return response


def _subject_or_404(name: str) -> Subject:
    try:
        return selectors.subject_get(name=name)
    except Subject.DoesNotExist:
        raise Http404(f"No subject {name}") from None


def _colour_sessions(sessions: Iterable[Session]) -> None:
    for session in sessions:
        session.state_colour = SESSION_COLOURS.get(session.state, "grey")


def _echo_summary(data: dict) -> str:
    """An echo message as the timeline reads it: who said what to whom, and how long the answer took."""
    towards = "to" if data.get("direction") == "sent" else "from"
    peer = data.get("peer_name") or data.get("peer") or "?"
    took = f" after {data['elapsed'] * 1000:.0f} ms" if isinstance(data.get("elapsed"), (int, float)) else ""
    return f"{data.get('direction')} {data.get('kind')} {data.get('message')} {towards} {peer}{took}"


def _event_summary(data, name: str = "") -> str:
    """One line of the event's data, without the exp_ref every row shares."""
    if name == "echo.message" and isinstance(data, dict):
        return _echo_summary(data)
    if not isinstance(data, dict):
        text = json.dumps(data, default=str)
    else:
        text = ", ".join(
            f"{key}={value if isinstance(value, str) else json.dumps(value, default=str)}"
            for key, value in data.items()
            if key != "exp_ref"
        )
    return text if len(text) <= EVENT_SUMMARY_CHARS else text[: EVENT_SUMMARY_CHARS - 1] + "…"



@permission_required("fleet.send_command", raise_exception=True)
def session_start(request):
    """The database allocates the number; the leading rig's agent then drives every chosen rig (iblrig's protocol)."""
    form = SessionStartForm(request.POST or None, initial=request.GET.dict() or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.session_start(user=request.user, subject=data["subject"], rigs=data["rigs"],
                                             main=data["main"], main_sync=data["main_sync"],
                                             duration=data.get("duration"))
        except services.SessionRefused as refused:
            for field, reason in refused.reasons.items():
                form.add_error(field if field in form.fields else None, reason)
        else:
            if session.state == SessionState.FAILED:
                messages.error(request, f"Session {session.exp_ref} could not start: {session.error}")
            else:
                count = len(data["rigs"])
                messages.success(request, f"Session {session.exp_ref}: {data['main'].name} is starting "
                                          f"{count} rig{'s' if count != 1 else ''}.")
            return redirect("session-detail", exp_ref=session.exp_ref)
    return render(request, "records/session_start.html", {"nav": "sessions", "form": form})


@require_POST
@permission_required("fleet.send_command", raise_exception=True)
def session_control(request, exp_ref: str):
    """Stop (ends it normally) or interrupt a running session through the rig that leads it."""
    session = get_object_or_404(Session, exp_ref=exp_ref)
    action = request.POST.get("action", "")
    if action not in ("stop", "interrupt"):
        messages.error(request, "Unknown action.")
        return redirect("session-detail", exp_ref=exp_ref)
    try:
        services.session_end(user=request.user, session=session, interrupt=action == "interrupt")
    except (services.SessionRefused, CommandRefused) as refused:
        messages.error(request, str(refused))
    else:
        word = "interrupting" if action == "interrupt" else "stopping"
        messages.success(request, f"Session {exp_ref}: {word} it.")
    return redirect("session-detail", exp_ref=exp_ref)
