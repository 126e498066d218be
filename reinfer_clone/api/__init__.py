"""HTTP layer: one blueprint per resource. Every matched route needs a valid
bearer token; each handler then checks its own permission."""
from __future__ import annotations

from flask import g, request

from ..errors import Unauthorized
from ..services import auth as auth_service
from ..services.permissions import Principal
from . import (
    attachments,
    auth,
    buckets,
    comments,
    datasets,
    discover,
    errors,
    inference_v2,
    labellers,
    labellings,
    projects,
    query,
    search,
    sources,
    streams,
    taxonomy,
    unsupported,
    users,
)
from .support import db

BLUEPRINTS = (
    auth.bp, users.bp, projects.bp, sources.bp, comments.bp, buckets.bp, datasets.bp,
    labellings.bp, query.bp, labellers.bp, discover.bp, inference_v2.bp, attachments.bp, streams.bp,
    search.bp, taxonomy.bp, unsupported.bp,
)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("Missing API token: send 'Authorization: Bearer <token>'.")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'.")
    return token.strip()


# Blueprints that serve no data and so need no token (the web interface's static files).
PUBLIC_BLUEPRINTS = {"ui"}


def authenticate():
    if request.routing_exception is not None:
        return  # unknown route or method: let its 404/405 through
    if request.blueprint in PUBLIC_BLUEPRINTS:
        return
    user = auth_service.authenticate(db(), _bearer_token())
    if user is None:
        raise Unauthorized("Invalid API token.")
    g.user = user
    g.principal = Principal.of(user)


def close_session(_exc=None):
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def register(app):
    errors.register(app)
    app.before_request(authenticate)
    app.teardown_appcontext(close_session)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
