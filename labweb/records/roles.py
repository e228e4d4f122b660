"""The two roles of the dashboard: viewers see everything, operators may also send commands to rigs."""

from django.contrib.auth.models import Group, Permission

OPERATORS = "Operators"
VIEWERS = "Viewers"


def roles_ensure(**_kwargs) -> None:
    """Create both groups (after every migrate, so a fresh database has them)."""
    Group.objects.get_or_create(name=VIEWERS)
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    permission = Permission.objects.filter(content_type__app_label="records", codename="send_command").first()
    if permission is not None:
        operators.permissions.add(permission)


def user_is_operator(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("records.send_command"))
