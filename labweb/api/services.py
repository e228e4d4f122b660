"""Writes of the API app: personal tokens, and the audit line of a subject written through the API."""

from __future__ import annotations

import datetime as dt

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from labweb.records.models import Subject

from .models import ApiToken
from .tokens import TOKEN_PREFIX, token_hash, token_new, token_shown_prefix

# last_used_at is written at most this often per token: a script polling every second must not turn every
# read into a database write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Make a token for this user; returns it with the token text, which is not stored and cannot be shown again."""
    key = token_new()
    token = ApiToken(user=user, name=name.strip(), key_hash=token_hash(key), prefix=token_shown_prefix(key))
    token.full_clean()
    token.save()
    return token, key


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> bool:
    """Delete one of the user's own tokens (it stops working at once); False when the user has no such token."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The token with this text, its last use noted; None for a revoked or unknown token."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(key)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def subject_write_log(*, user: AbstractBaseUser, subject: Subject, created: bool, changed: list[str]) -> None:
    """Note who added or changed a subject through the API in Django's admin history (the subject's History page)."""
    if created:
        message = "Added through the API."
    else:
        message = f"Changed {', '.join(changed) or 'nothing'} through the API."
    LogEntry.objects.log_actions(user_id=user.pk, queryset=[subject], action_flag=ADDITION if created else CHANGE,
                                 change_message=message, single_object=True)
