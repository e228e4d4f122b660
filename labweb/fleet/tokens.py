"""Agent tokens: shown once when made, stored only as a SHA-256 hash."""

import hashlib
import secrets

TOKEN_PREFIX = "lwr_"


def token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; a slow KDF would only slow every agent connect.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
