"""The subject name rule, one for every path a name arrives by (a form, an API call, a rig's report of an exp_ref).

The lab server's pipeline decides what is readable (rigs.layout.subject_check: ibllib reads device stubs with
[\\w-]+, so no dots or spaces); the dashboard adds the names its own pages need (/subjects/add/ is a page).
"""

from django.core.exceptions import ValidationError

from rigs.layout import LayoutError, subject_check

RESERVED_SUBJECT_NAMES = frozenset({"add"})
MAX_SUBJECT_NAME = 64


def subject_name_check(name: str) -> str:
    """Return `name` if a subject may have it, else raise ValueError saying why."""
    if not name or len(name) > MAX_SUBJECT_NAME:
        raise ValueError(f"subject names are 1 to {MAX_SUBJECT_NAME} characters long")
    try:
        subject_check(name)
    except LayoutError as exc:
        raise ValueError(str(exc)) from None
    if name.lower() in RESERVED_SUBJECT_NAMES:
        raise ValueError(f"{name!r} is reserved by the dashboard; choose another subject name")
    return name


def subject_name_validator(name: str) -> None:
    """The model field's validator (forms, the admin and the API all run it)."""
    try:
        subject_name_check(name)
    except ValueError as exc:
        raise ValidationError(str(exc)[:1].upper() + str(exc)[1:] + ".", code="invalid") from None
