"""Subjects and sessions: read as the pages show them; written with the pages' own forms and services, so a
script meets exactly the browser's rules."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from labweb.fleet import services as fleet_services
from labweb.fleet.commands import CommandRefused
from labweb.fleet.models import Command, Rig
from labweb.fleet.roles import user_is_operator
from labweb.records import selectors as records_selectors
from labweb.records import services as records_services
from labweb.records.choices import SessionState
from labweb.records.forms import SessionStartForm, SubjectForm
from labweb.records.models import Session, Subject
from labweb.records.selectors import sessions_holding

from .. import services
from ..errors import Conflict, command_refused, field_errors
from ..filters import SessionFilter, SubjectFilter
from ..permissions import IsOperator, SubjectPermission
from ..serializers.errors import COMMAND_REFUSED, ConflictSerializer, RefusalSerializer, error_responses
from ..serializers.fleet import CommandSerializer
from ..serializers.records import (
    SessionReserveSerializer,
    SessionSerializer,
    SessionStartedSerializer,
    SessionStartSerializer,
    SubjectSerializer,
    SubjectWriteSerializer,
)
from .base import NAME_IN_URL, NamedLookup, active_subject_named, body, rig_named, rigs_named

SUBJECT_FIELDS = ["name", "lab", "species", "responsible", "is_active", "notes"]


@extend_schema_view(
    list=extend_schema(summary="Subjects", responses={200: SubjectSerializer(many=True), **error_responses(400, 401)}),
    retrieve=extend_schema(summary="One subject", responses={200: SubjectSerializer, **error_responses(401, 404)}),
)
class SubjectViewSet(NamedLookup, viewsets.ReadOnlyModelViewSet):
    """Everyone reads subjects; operators add and edit them (never delete: sessions' records and folders name them).

    No PUT: an edit (PATCH) changes only the fields it names.
    """

    queryset = Subject.objects.all()
    serializer_class = SubjectSerializer
    filterset_class = SubjectFilter
    permission_classes = [SubjectPermission]
    lookup_field = "name"
    lookup_value_regex = NAME_IN_URL

    @extend_schema(summary="Add a subject", request=SubjectWriteSerializer,
                   responses={201: SubjectSerializer, **error_responses(400, 401, 403)})
    def create(self, request, *args, **kwargs):
        given = body(SubjectWriteSerializer, request)
        # The add page's form: the model's name rule (labweb.records.validators), unique names, active users.
        form = SubjectForm(data=_subject_form_data({"is_active": True, **given}))
        if not form.is_valid():
            raise field_errors(form.errors)
        subject = records_services.subject_create(**form.cleaned_data)
        services.subject_write_log(user=request.user, subject=subject, created=True, changed=[])
        return Response(SubjectSerializer(subject).data, status=status.HTTP_201_CREATED,
                        headers={"Location": reverse("api-subject-detail", args=[subject.name])})

    @extend_schema(summary="Edit a subject (only the fields given change)", request=SubjectWriteSerializer,
                   responses={200: SubjectSerializer, **error_responses(400, 401, 403, 404)})
    def partial_update(self, request, *args, **kwargs):
        subject = self.get_object()
        given = body(SubjectWriteSerializer, request, partial=True)
        if given.get("name", subject.name) != subject.name and subject.sessions.exists():
            # The edit page shows the name disabled for the same reason; a script is told rather than ignored.
            raise field_errors({"name": [SubjectForm(instance=subject).fields["name"].help_text]})
        current = {field: getattr(subject, field) for field in SUBJECT_FIELDS}
        form = SubjectForm(data=_subject_form_data({**current, **given}), instance=subject)
        if not form.is_valid():
            raise field_errors(form.errors)
        subject = form.save()
        services.subject_write_log(user=request.user, subject=subject, created=False, changed=form.changed_data)
        return Response(SubjectSerializer(subject).data)


def _subject_form_data(values: dict[str, Any]) -> dict[str, Any]:
    """Values as the subject form posts them: the responsible user by key, empty text for nothing."""
    data = {field: values.get(field, "") for field in SUBJECT_FIELDS}
    data["responsible"] = values["responsible"].pk if values.get("responsible") else ""
    data["is_active"] = bool(values.get("is_active"))
    return data


@extend_schema_view(
    list=extend_schema(summary="Sessions, newest first, with their rigs and copy states",
                       responses={200: SessionSerializer(many=True), **error_responses(400, 401)}),
    retrieve=extend_schema(summary="One session with its rigs and copy states",
                           responses={200: SessionSerializer, **error_responses(401, 404)}),
)
class SessionViewSet(NamedLookup, viewsets.ReadOnlyModelViewSet):
    """Sessions as their pages show them; operators start, stop and interrupt them, and reserve numbers."""

    queryset = Session.objects.all()
    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    lookup_field = "exp_ref"
    lookup_value_regex = NAME_IN_URL
    operator_only_what = "reserve session numbers"

    @extend_schema(
        summary="Start a session on several rigs", request=SessionStartSerializer,
        responses={201: OpenApiResponse(SessionStartedSerializer, description="Recorded, numbered by the database; its "
                                        "leading rig was asked to run it (the `command`)."),
                   **error_responses(400, 401, 404),
                   403: OpenApiResponse(RefusalSerializer, description="The user is not an operator: refused, and "
                                        "recorded as a refused session.start."),
                   409: OpenApiResponse(ConflictSerializer, description="A rig is offline or already in a session "
                                        "(the form's words), or the leading rig refused the start.")},
    )
    @action(detail=False, methods=["post"])
    def start(self, request):
        given = body(SessionStartSerializer, request)
        subject = active_subject_named(given["subject"])
        rigs = rigs_named(given["rigs"])
        main, main_sync = rig_named(given["main"], field="main"), rig_named(given["main_sync"], field="main_sync")
        no_address = [rig.name for rig in {*rigs, main, main_sync} if not rig.echo_uri]
        if no_address:
            raise field_errors({"rigs": [f"{name} has no echo URI (its address for sessions): set one with "
                                         "`labweb rig import` or in the admin." for name in sorted(no_address)]})
        if not user_is_operator(request.user):
            _refuse_start(request.user, subject, rigs, main, main_sync, given.get("duration"))
        form = SessionStartForm(data={"subject": subject.pk, "rigs": [rig.pk for rig in rigs], "main": main.pk,
                                      "main_sync": main_sync.pk, "duration": given.get("duration") or ""})
        if not form.is_valid():
            raise _start_errors(form, rigs)
        data = form.cleaned_data
        try:
            session = records_services.session_start(user=request.user, subject=data["subject"], rigs=data["rigs"],
                                                     main=data["main"], main_sync=data["main_sync"],
                                                     duration=data.get("duration"))
        except records_services.SessionRefused as refused:  # a rig taken between the form's check and the lock
            raise Conflict(str(refused), errors={field: [why] for field, why in refused.reasons.items()}) from None
        session = records_selectors.session_get(exp_ref=session.exp_ref)
        session.api_command = Command.objects.filter(rig=main, action="session.start",
                                                     params__exp_ref=session.exp_ref).first()
        if session.state == SessionState.FAILED:
            raise Conflict(f"Session {session.exp_ref} could not start: {session.error}",
                           session=SessionStartedSerializer(session).data)
        return Response(SessionStartedSerializer(session).data, status=status.HTTP_201_CREATED,
                        headers={"Location": reverse("api-session-detail", args=[session.exp_ref])})

    @extend_schema(
        summary="Reserve the next session number of a subject and date",
        description="The number is allocated by the database, atomically, as for a session started here: two "
                    "callers never get the same one. The session holds no rig and shows as `reserved` ('Number "
                    "reserved') until a rig reports a session under its exp_ref.",
        request=SessionReserveSerializer,
        responses={201: SessionSerializer, **error_responses(400, 401, 403)},
    )
    @action(detail=False, methods=["post"], permission_classes=[IsOperator])
    def reserve(self, request):
        given = body(SessionReserveSerializer, request)
        subject = active_subject_named(given["subject"])
        session = records_services.session_reserve(subject=subject, date=given.get("date"), reserved_by=request.user)
        session = records_selectors.session_get(exp_ref=session.exp_ref)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED,
                        headers={"Location": reverse("api-session-detail", args=[session.exp_ref])})

    @extend_schema(summary="Stop the session (its leading rig ends it normally)", request=None,
                   responses={202: CommandSerializer, **error_responses(401, 404), **COMMAND_REFUSED})
    @action(detail=True, methods=["post"])
    def stop(self, request, exp_ref=None):
        return self._end(request, interrupt=False)

    @extend_schema(summary="Interrupt the session (end it at once)", request=None,
                   responses={202: CommandSerializer, **error_responses(401, 404), **COMMAND_REFUSED})
    @action(detail=True, methods=["post"])
    def interrupt(self, request, exp_ref=None):
        return self._end(request, interrupt=True)

    def _end(self, request, *, interrupt: bool) -> Response:
        session = self.get_object()
        try:
            records_services.session_end(user=request.user, session=session, interrupt=interrupt)
        except CommandRefused as refused:
            raise command_refused(request.user, refused) from None
        except records_services.SessionRefused as refused:
            if not user_is_operator(request.user):
                raise exceptions.PermissionDenied(
                    f"{request.user.get_username()} is not an operator: only operators may end sessions.") from None
            raise Conflict(str(refused), errors={field: [why] for field, why in refused.reasons.items()}) from None
        action_name = "session.interrupt" if interrupt else "session.stop"
        command = (Command.objects.filter(action=action_name, params__exp_ref=session.exp_ref, issued_by=request.user)
                   .order_by("-issued_at").first())
        return Response(CommandSerializer(command).data, status=status.HTTP_202_ACCEPTED)


def _refuse_start(user, subject: Subject, rigs: list[Rig], main: Rig, main_sync: Rig, duration) -> None:
    """A viewer's start: recorded as a refused session.start to the rig that would have led it, then a 403."""
    params = {"subject": subject.name, "main_sync": main_sync.name, "rigs": {rig.name: rig.echo_uri for rig in rigs}}
    if duration:
        params["duration"] = float(duration)
    try:
        fleet_services.command_issue(user=user, rig=main, action="session.start", params=params)
    except CommandRefused as refused:
        raise command_refused(user, refused) from None
    raise AssertionError("command_issue let a non-operator's command through")  # roles.py and services disagree


def _start_errors(form: SessionStartForm, rigs: list[Rig]) -> exceptions.APIException:
    """The form's errors: a 409 when only rigs that are offline or in a session stand in the way, else a 400."""
    busy = [rig for rig in rigs if not rig.online] or sessions_holding(rigs=rigs)
    refusals = set(records_services.session_start_refusals(rigs=rigs, main=form.cleaned_data.get("main")).values())
    others = [message for messages in form.errors.values() for message in messages if message not in refusals]
    if busy and not others:
        errors = {field: list(messages) for field, messages in form.errors.items()}
        return Conflict(" ".join(message for messages in errors.values() for message in messages), errors=errors)
    return field_errors(form.errors)
