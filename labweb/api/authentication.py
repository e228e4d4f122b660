"""How scripts authenticate: `Authorization: Bearer lwa_...`, a personal token that acts as its user.

The user's role is read at every request (their groups and permissions), so a token never carries more than its
user may do now. The browser's login session also works (with CSRF, as DRF enforces it), for the docs page.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from . import services
from .tokens import TOKEN_PREFIX

KEYWORD = "Bearer"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """A personal API token in the Authorization header; a request without one is left to the next authenticator."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode("latin-1").lower() != KEYWORD.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>', with one token.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("An API token holds ASCII characters only.") from None
        token = services.api_token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "This API token is not valid: it was revoked, or mistyped "
                f"(tokens start with {TOKEN_PREFIX!r}; make one on the API page, /api/tokens/)."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(f"The account {token.user.get_username()} is disabled.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request with no credentials.
        return f'{KEYWORD} realm="labweb"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A personal API token (lwa_...), made and revoked on the API page (/api/tokens/)."}
