"""Who may write what: the dashboard's two roles (labweb.fleet.roles), the same for a token as for a login."""

from __future__ import annotations

from rest_framework import permissions

from labweb.fleet.roles import user_is_operator


def _viewer(request, what: str) -> str:
    return f"{request.user.get_username()} is not an operator: only operators may {what}."


class IsOperator(permissions.BasePermission):
    """Operators (the Operators group's fleet.send_command) only."""

    what = "do this"

    def has_permission(self, request, view) -> bool:
        if user_is_operator(request.user):
            return True
        self.message = _viewer(request, getattr(view, "operator_only_what", self.what))
        return False


class SubjectPermission(permissions.BasePermission):
    """Everyone reads; adding and editing subjects take the permissions the subject pages ask for."""

    needed = {"POST": ("records.add_subject", "add subjects"), "PATCH": ("records.change_subject", "edit subjects")}

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method not in self.needed:  # reads; other methods are answered 405 by the view
            return True
        perm, what = self.needed[request.method]
        if request.user.has_perm(perm):
            return True
        self.message = _viewer(request, what)
        return False
