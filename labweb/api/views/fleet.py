"""Rigs with their live state, the commands scripts send them (spooling, copies), and the commands and events
the rigs' pages list."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from labweb.alerts.selectors import alerts_active_by_rig
from labweb.fleet import presence
from labweb.fleet.commands import CommandRefused, command_send
from labweb.fleet.models import Command, Rig, RigEvent
from labweb.fleet.roles import user_is_operator

from .. import selectors
from ..errors import Refused, command_refused
from ..filters import CommandFilter, RigEventFilter, RigFilter
from ..serializers.errors import COMMAND_REFUSED, ManyRefusalSerializer, error_responses
from ..serializers.fleet import (
    CommandSerializer,
    CommandsSentSerializer,
    RigEventSerializer,
    RigSerializer,
    SpoolManyStartSerializer,
    SpoolManyStopSerializer,
    SpoolStartSerializer,
    TransferRunSerializer,
)
from .base import NAME_IN_URL, NamedLookup, body, rigs_named

SENT = OpenApiResponse(CommandSerializer, description="Recorded and sent; the rig's answer closes it (poll "
                                                      "/api/v1/commands/<id>/).")


def command_to(request, rig: Rig, action_name: str, params: dict) -> Response:
    """Record and send one command with the API user as its issuer, exactly as the rigs page sends it."""
    try:
        command = command_send(user=request.user, rig=rig, action=action_name, params=params)
    except CommandRefused as refused:
        raise command_refused(request.user, refused) from None
    return Response(CommandSerializer(command).data, status=status.HTTP_202_ACCEPTED)


def commands_to(request, rigs: list[Rig], action_name: str, params: dict) -> Response:
    """One command per rig, as the spool panel sends them: 202 when every rig got it; otherwise every refusal is
    recorded, the others are sent all the same, and the answer (403 for a viewer, else 409) lists them all."""
    commands, refused = [], []
    for rig in rigs:
        try:
            commands.append(command_send(user=request.user, rig=rig, action=action_name, params=params))
        except CommandRefused as refusal:
            commands.append(refusal.command)
            refused.append(refusal.command)
    data = CommandSerializer(commands, many=True).data
    if not refused:
        return Response({"detail": f"{action_name} sent to {', '.join(r.name for r in rigs)}.", "commands": data},
                        status=status.HTTP_202_ACCEPTED)
    sent = [c.rig.name for c in commands if c not in refused]
    detail = f"{action_name} refused for " + "; ".join(f"{c.rig.name} ({c.error})" for c in refused) + "."
    detail += f" Sent to {', '.join(sent)}." if sent else " Sent to no rig."
    raise Refused(detail, forbidden=not user_is_operator(request.user), commands=data)


@extend_schema_view(
    list=extend_schema(summary="Rigs with their live state", responses={200: RigSerializer(many=True),
                                                                          **error_responses(400, 401)}),
    retrieve=extend_schema(summary="One rig with its live state", responses={200: RigSerializer,
                                                                               **error_responses(401, 404)}),
)
class RigViewSet(NamedLookup, viewsets.ReadOnlyModelViewSet):
    """Rigs as their cards show them: online, what they do (state), and the last status of each part."""

    queryset = Rig.objects.all()
    serializer_class = RigSerializer
    filterset_class = RigFilter
    lookup_field = "name"
    lookup_value_regex = NAME_IN_URL

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._represent(page, many=True))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._represent([self.get_object()], many=False))

    def _represent(self, rigs: list[Rig], *, many: bool):
        fresh_after = presence.fresh_after()
        context = {**self.get_serializer_context(), "alerts": alerts_active_by_rig(rigs),
                   "live": lambda rig: selectors.rig_live(rig, fresh_after=fresh_after)}
        serializer = RigSerializer(rigs if many else rigs[0], many=many, context=context)
        return serializer.data

    @extend_schema(summary="Start spooling on this rig", request=SpoolStartSerializer,
                   responses={202: SENT, **error_responses(400, 401, 404), **COMMAND_REFUSED})
    @action(detail=True, methods=["post"], url_path="spool/start")
    def spool_start(self, request, name=None):
        return command_to(request, self.get_object(), "spool.start", body(SpoolStartSerializer, request))

    @extend_schema(summary="Stop spooling on this rig", request=None,
                   responses={202: SENT, **error_responses(401, 404), **COMMAND_REFUSED})
    @action(detail=True, methods=["post"], url_path="spool/stop")
    def spool_stop(self, request, name=None):
        return command_to(request, self.get_object(), "spool.stop", {})

    @extend_schema(summary="Copy this rig's finished sessions to the server", request=TransferRunSerializer,
                   responses={202: SENT, **error_responses(400, 401, 404), **COMMAND_REFUSED})
    @action(detail=True, methods=["post"], url_path="transfer/run")
    def transfer_run(self, request, name=None):
        return command_to(request, self.get_object(), "transfer.run", body(TransferRunSerializer, request))


MANY_REFUSED = {
    403: OpenApiResponse(ManyRefusalSerializer, description="The user is not an operator: every command refused "
                                                            "and recorded as refused."),
    409: OpenApiResponse(ManyRefusalSerializer, description="Some rigs refused (offline): those recorded as "
                                                            "refused, the others sent."),
}


class SpoolViewSet(viewsets.GenericViewSet):
    """Spooling on several rigs at once, as the rigs page's spool panel does it."""

    serializer_class = CommandsSentSerializer

    @extend_schema(summary="Start spooling on several rigs", request=SpoolManyStartSerializer,
                   responses={202: CommandsSentSerializer, **error_responses(400, 401), **MANY_REFUSED})
    @action(detail=False, methods=["post"])
    def start(self, request):
        params = body(SpoolManyStartSerializer, request)
        rigs = rigs_named(params.pop("rigs"))
        return commands_to(request, rigs, "spool.start", params)

    @extend_schema(summary="Stop spooling on several rigs", request=SpoolManyStopSerializer,
                   responses={202: CommandsSentSerializer, **error_responses(400, 401), **MANY_REFUSED})
    @action(detail=False, methods=["post"])
    def stop(self, request):
        rigs = rigs_named(body(SpoolManyStopSerializer, request)["rigs"])
        return commands_to(request, rigs, "spool.stop", {})


@extend_schema_view(
    list=extend_schema(summary="Commands sent to rigs, newest first", responses={200: CommandSerializer(many=True),
                                                                                 **error_responses(400, 401)}),
    retrieve=extend_schema(summary="One command and how it ended", responses={200: CommandSerializer,
                                                                               **error_responses(401, 404)}),
)
class CommandViewSet(NamedLookup, viewsets.ReadOnlyModelViewSet):
    queryset = Command.objects.all()
    serializer_class = CommandSerializer
    filterset_class = CommandFilter


@extend_schema_view(
    list=extend_schema(summary="The rigs' durable events, newest first",
                       responses={200: RigEventSerializer(many=True), **error_responses(400, 401)}),
)
class RigEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = RigEvent.objects.all()
    serializer_class = RigEventSerializer
    filterset_class = RigEventFilter
