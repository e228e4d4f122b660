"""Every error the API gives is JSON: {"detail": "what went wrong, in plain words", ...} with the right status.

400 adds "errors" (field -> messages); refusals of rig commands add the recorded "command"; 409 is for a request
the records or the rigs cannot take now (a rig busy or offline, a session that has ended).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from labweb.fleet.roles import user_is_operator
from labweb.fleet.services import CommandRefused


class Conflict(exceptions.APIException):
    """The request is well formed but cannot be done now (409), e.g. a rig already in a session."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This cannot be done now."
    default_code = "conflict"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__()
        self.detail = {"detail": detail, **extra}


class Refused(exceptions.APIException):
    """A rig command that was refused and recorded as refused: 403 for a viewer, 409 when the rig cannot take it."""

    def __init__(self, detail: str, *, forbidden: bool, **extra: Any) -> None:
        super().__init__()
        self.status_code = status.HTTP_403_FORBIDDEN if forbidden else status.HTTP_409_CONFLICT
        self.detail = {"detail": detail, **extra}


def command_refused(user, refused: CommandRefused, **extra: Any) -> Refused:
    """The API's answer to a command the fleet refused (and recorded): why, and the refused command itself."""
    from .serializers.fleet import CommandSerializer  # the serializers import this module

    return Refused(str(refused), forbidden=not user_is_operator(user),
                   command=CommandSerializer(refused.command).data, **extra)


def field_errors(errors: Mapping[str, Any]) -> exceptions.ValidationError:
    """A 400 from a form's or a model's errors (field -> messages; '__all__' becomes non_field_errors)."""
    return exceptions.ValidationError(
        {("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
         for field, messages in errors.items()}
    )


def model_errors(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return field_errors({field: [m for e in errs for m in e.messages] for field, errs in exc.error_dict.items()})
    return field_errors({"__all__": exc.messages})


def api_exception_handler(exc, context):
    """DRF's handler, then one shape for every error: a `detail` sentence always, `errors` by field for a 400."""
    if isinstance(exc, DjangoValidationError):
        exc = model_errors(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.NotAuthenticated):
        response.data = {"detail": "Not authenticated: send a personal API token (Authorization: Bearer lwa_..., made "
                                   "on the API page, /api/tokens/), or log in."}
    elif isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {"detail": "Invalid input: " + _summary(errors), "errors": errors}
    elif not (isinstance(data, dict) and "detail" in data):
        response.data = {"detail": str(data)}
    return response


def _summary(errors: Mapping[str, Any]) -> str:
    parts = []
    for field, messages in errors.items():
        text = " ".join(_flatten(messages))
        parts.append(text if field == "non_field_errors" else f"{field}: {text}")
    return "; ".join(parts)


def _flatten(value) -> list[str]:
    if isinstance(value, Mapping):
        return [f"{k}: {' '.join(_flatten(v))}" for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _flatten(item)]
    return [str(value)]


def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any path under /api/ that names no endpoint: JSON, not the HTML 404 page."""
    return JsonResponse({"detail": f"No API endpoint at {request.path}. The endpoints are listed at /api/v1/."},
                        status=404)
