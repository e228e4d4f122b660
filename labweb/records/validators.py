"""The subject name rule, one for every path a name arrives by (a form, an API call, a rig's report of an exp_ref).

The rule lives in rigs.layout.subject_check, so a name is checked the same way on a rig and on the dashboard.
"""

from django.core.exceptions import ValidationError

from rigs.layout import LayoutError, subject_check


def subject_name_check(name: str) -> str:
    """Return `name` if a subject may have it, else raise ValueError saying why (rigs.layout.subject_check: the
    lab server's rule, the length, and the names reserved by the dashboard's pages and by Windows)."""
    try:
        return subject_check(name)
    except LayoutError as exc:
        raise ValueError(str(exc)) from None


def subject_name_validator(name: str) -> None:
    """The model field's validator (forms, the admin and the API all run it)."""
    try:
        subject_name_check(name)
    except ValueError as exc:
        raise ValidationError(str(exc)[:1].upper() + str(exc)[1:] + ".", code="invalid") from None
