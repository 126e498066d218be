"""Per-token rate limits (Flask-Limiter): one count per valid API token, else
per remote address (so inventing tokens gains nothing). A token is keyed by a
digest of its own, never the token nor the digest stored in the database.
Counts live in memory (one process) or in Redis (REINFER_CLONE_RATE_LIMIT_STORAGE),
shared by every process and host that uses it.

Over the limit: 429 with `Retry-After` and the JSON envelope (the HTTPException
handler); the official client waits and retries.
"""
from __future__ import annotations

import hashlib

from flask import request
from flask_limiter import Limiter
from limits import parse_many

from .support import bearer_token, request_user

OFF = ("0", "", "off", "none")


def token_key(token: str) -> str:
    digest = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16,
                             person=b"rate-limit").hexdigest()
    return f"token:{digest}"


def _key() -> str:
    token = bearer_token()
    if token and request_user(token) is not None:
        return token_key(token)
    return f"address:{request.remote_addr}"


def init(app, rate_limit: str, storage_uri: str) -> None:
    """Before the authentication hook is registered: the limiter's own hook must
    run first, or requests with invalid tokens (answered 401) would never count."""
    if rate_limit.strip().lower() in OFF:
        return
    parse_many(rate_limit)  # a typo fails the start, not silently every request
    # An application limit: one count across every route (default limits count per route).
    Limiter(_key, app=app, application_limits=[rate_limit], storage_uri=storage_uri,
            headers_enabled=True, key_prefix="reinfer-clone",
            # With Redis unreachable, serve (and log) rather than refuse everything.
            swallow_errors=True)
