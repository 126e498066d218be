"""API tokens: issued once in clear text, stored only as a SHA-256 digest.

Tokens are 256 random bits, so a fast digest is enough: there is nothing to
brute-force, and each request can look its token up by index.
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiToken, User
from . import users as users_service
from .permissions import ROOT


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_token() -> str:
    return secrets.token_urlsafe(32)


def issue_token(session: Session, user: User, token: str | None = None) -> str:
    """Attach a token to the user (a new random one unless given); commit; return it."""
    token = token or generate_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    session.commit()
    return token


def authenticate(session: Session, token: str) -> User | None:
    if not token:
        return None
    return session.scalar(
        select(User).join(ApiToken).where(ApiToken.token_hash == hash_token(token))
    )


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
