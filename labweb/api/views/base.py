"""What the endpoints share: reading a request body, and finding the records a body names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404
from rest_framework import exceptions, serializers

from labweb.fleet.models import Rig
from labweb.records.models import Subject

from ..errors import field_errors

# Names in URLs: rig names hold dots, which DRF's default lookup pattern refuses.
NAME_IN_URL = "[^/]+"


class NamedLookup:
    """A 404 that names what was looked for: "No rig 'cam-9'." rather than "No Rig matches the given query."."""

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            value = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
            raise exceptions.NotFound(f"No {self.queryset.model._meta.verbose_name} {value!r}.") from None


def body(serializer_class: type[serializers.Serializer], request, **kwargs) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def rigs_named(names: Iterable[str], *, field: str = "rigs") -> list[Rig]:
    """The rigs with these names, in the order given, each once; a 400 naming every unknown one."""
    names = list(dict.fromkeys(names))
    found = {rig.name: rig for rig in Rig.objects.filter(name__in=names)}
    unknown = [name for name in names if name not in found]
    if unknown:
        raise field_errors({field: [f"No rig named {name!r}." for name in unknown]})
    return [found[name] for name in names]


def rig_named(name: str, *, field: str) -> Rig:
    return rigs_named([name], field=field)[0]


def active_subject_named(name: str, *, field: str = "subject") -> Subject:
    """The active subject with this name; a 400 saying why not (unknown, or inactive as the forms hide it)."""
    subject = Subject.objects.filter(name=name).first()
    if subject is None:
        raise field_errors({field: [f"No subject named {name!r}."]})
    if not subject.is_active:
        raise field_errors({field: [f"{name} is inactive: inactive subjects get no new sessions (make it active "
                                    "first)."]})
    return subject
