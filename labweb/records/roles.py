"""The two roles of the dashboard: viewers see everything; operators also drive rigs and keep the subject list."""

from django.contrib.auth.models import Group, Permission

OPERATORS = "Operators"
VIEWERS = "Viewers"


# What operators may do beyond viewing: drive rigs, and keep the subject list (add and edit, never delete).
OPERATOR_PERMISSIONS = ("send_command", "add_subject", "change_subject")


def roles_ensure(**_kwargs) -> None:
    """Create both groups (after every migrate, so a fresh database has them)."""
    Group.objects.get_or_create(name=VIEWERS)
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    permissions = Permission.objects.filter(content_type__app_label="records", codename__in=OPERATOR_PERMISSIONS)
    operators.permissions.add(*permissions)


def user_is_operator(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("records.send_command"))
