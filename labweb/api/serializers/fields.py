"""Fields shared by the serializers."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.DATETIME)
class EpochDateTimeField(serializers.ReadOnlyField):
    """A time the pages' entries keep in epoch seconds, given as ISO 8601 like every other time in the API."""

    def to_representation(self, value):
        if value is None:
            return None
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC).isoformat().replace("+00:00", "Z")


class UserNameField(serializers.SlugRelatedField):
    """A user, written and read as their user name."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "username")
        super().__init__(**kwargs)
