"""The two roles of the dashboard: viewers see everything; operators also drive rigs and keep the subject list."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

OPERATORS = "Operators"
VIEWERS = "Viewers"
SEND_COMMAND = "fleet.send_command"

# What operators may do beyond viewing: drive rigs, and keep the subject list (add and edit, never delete).
OPERATOR_PERMISSIONS = (SEND_COMMAND, "records.add_subject", "records.change_subject")


def roles_ensure(**_kwargs) -> None:
    """Create both groups (after every migrate, so a fresh database has them)."""
    Group.objects.get_or_create(name=VIEWERS)
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    wanted = Q()
    for name in OPERATOR_PERMISSIONS:
        app_label, codename = name.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    operators.permissions.add(*Permission.objects.filter(wanted))


def user_is_operator(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(SEND_COMMAND))
