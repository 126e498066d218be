"""API tokens: issued once in clear text, stored only as a SHA-256 digest.

Tokens are 256 random bits, so a fast digest is enough: there is nothing to
brute-force, and each request can look its token up by index.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from ..models import ApiToken, User
from . import users as users_service
from .permissions import ROOT


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_token() -> str:
    return secrets.token_urlsafe(32)


def issue_token(session: Session, user: User, token: str | None = None) -> str:
    """Attach a token to the user (a new random one unless given); return it."""
    token = token or generate_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    session.flush()
    return token


# What a lookup that found no row compares its digest with (no digest is 64 zeros).
_NO_MATCH = "0" * 64


def authenticate(session: Session, token: str | None) -> User | None:
    """The token's user, or None, at the same cost either way (docs/decisions.md):
    one digest; one query that always returns one row, the token's owner or a
    stand-in user when no token matches; one constant-time comparison of digests;
    then the user and its permissions are loaded, the stand-in's dropped."""
    digest = hash_token(token or "")
    stand_in = select(User.id).order_by(User.id).limit(1).scalar_subquery()
    always = select(literal(1).label("one")).subquery()
    stored, user_id = session.execute(
        select(ApiToken.token_hash, func.coalesce(ApiToken.user_id, stand_in))
        .select_from(always).outerjoin(ApiToken, ApiToken.token_hash == digest)
    ).one()
    matched = hmac.compare_digest(stored or _NO_MATCH, digest) and stored is not None
    user = session.get(User, user_id) if user_id is not None else None
    return user if matched else None


def ensure_admin(session: Session, username: str, email: str, token: str | None = None):
    """Make sure an admin exists. Returns (user, new_token_or_None).

    With `token`, the admin user ends up owning exactly that token. Without it,
    a root user is created (with a fresh token) only if there is no user at all.
    """
    if token is not None:
        owner = authenticate(session, token)
        if owner is not None:
            if ROOT not in owner.global_permissions:
                users_service.add_global_permissions(session, owner, [ROOT])
            return owner, None
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = users_service.create(session, username, email, [ROOT], {})
        elif ROOT not in user.global_permissions:
            users_service.add_global_permissions(session, user, [ROOT])
        issue_token(session, user, token)
        return user, token
    if session.scalar(select(User.id).limit(1)) is not None:
        return None, None
    user = users_service.create(session, username, email, [ROOT], {})
    return user, issue_token(session, user)
