"""The shapes of the API's errors, for the schema (labweb.api.errors makes them)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .fleet import CommandSerializer


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in plain words.")


class FieldErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Field name -> what is wrong with it.")


class RefusalSerializer(ErrorSerializer):
    command = CommandSerializer(help_text="The command, recorded as refused.")


class ManyRefusalSerializer(ErrorSerializer):
    commands = CommandSerializer(many=True, help_text="Every rig's command: sent or refused (recorded either way).")


class ConflictSerializer(ErrorSerializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


_COMMON = {
    400: OpenApiResponse(FieldErrorSerializer, description="Invalid input: `errors` says which field and why."),
    401: OpenApiResponse(ErrorSerializer, description="No valid token or login."),
    403: OpenApiResponse(ErrorSerializer, description="The user is not an operator."),
    404: OpenApiResponse(ErrorSerializer, description="No such record."),
    409: OpenApiResponse(ConflictSerializer, description="Not now: a rig busy or offline, a session ended."),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The error responses of an endpoint, for extend_schema(responses=...)."""
    return {code: _COMMON[code] for code in codes}


COMMAND_REFUSED = {
    403: OpenApiResponse(RefusalSerializer, description="The user is not an operator: refused, and recorded as "
                                                        "refused."),
    409: OpenApiResponse(RefusalSerializer, description="The rig is offline: refused, and recorded as refused."),
}
