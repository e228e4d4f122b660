"""Personal API tokens: made here, shown once, kept only as a hash (the same hash as the rigs' agent tokens)."""

import secrets

from labweb.fleet.tokens import token_hash

TOKEN_PREFIX = "lwa_"
SHOWN_PREFIX = 10  # "lwa_" and six random characters: enough to tell a user's tokens apart, useless to guess with

__all__ = ["TOKEN_PREFIX", "token_hash", "token_new", "token_shown_prefix"]


def token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_shown_prefix(token: str) -> str:
    return token[:SHOWN_PREFIX]
