"""What the API keeps: the personal tokens scripts authenticate with."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal API token: a script acts as its user, with that user's role at the time of each request.

    The token itself is shown once when it is made; only its SHA-256 hash is kept.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'analysis notebook'.")
    key_hash = models.CharField(max_length=64, unique=True,
                                help_text="SHA-256 of the token; the token is never stored.")
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(
        null=True, blank=True, help_text="When a request last came with this token (to the minute; empty: never)."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="unique_api_token_name")]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
