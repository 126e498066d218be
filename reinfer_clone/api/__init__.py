"""HTTP layer: one blueprint per resource. Every matched route needs a valid
bearer token; each handler then checks its own permission."""
from __future__ import annotations

from flask import current_app, g, request

from ..errors import InvalidInput, Unauthorized
from ..schemas.json_input import string_problem
from ..services import audit
from ..services.permissions import Principal
from . import (
    attachments,
    audit_events,
    auth,
    buckets,
    comments,
    datasets,
    discover,
    errors,
    export,
    inference_v2,
    labellers,
    labellings,
    projects,
    query,
    quotas,
    reference,
    search,
    sources,
    streams,
    taxonomy,
    unsupported,
    users,
)
from . import health
from .spec import is_public
from .support import request_user, unit_of_work

BLUEPRINTS = (
    auth.bp, users.bp, projects.bp, sources.bp, comments.bp, buckets.bp, datasets.bp,
    labellings.bp, export.bp, query.bp, labellers.bp, discover.bp, inference_v2.bp, attachments.bp, streams.bp,
    search.bp, taxonomy.bp, audit_events.bp, quotas.bp, unsupported.bp,
    reference.bp,
)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("Missing API token: send 'Authorization: Bearer <token>'.")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'.")
    return token.strip()


def check_url():
    """The path and query string follow the body's string rules (no NUL), so
    both backends refuse the same requests (docs/decisions.md)."""
    problem = string_problem(request.path)
    if problem:
        raise InvalidInput(f"Invalid request: path: {problem}", field="path")
    for key, value in request.args.items(multi=True):
        problem = string_problem(key) or string_problem(value)
        if problem:
            name = key.replace("\x00", "\\u0000")
            raise InvalidInput(f"Invalid query parameter '{name}': {problem}", field=name)


# Blueprints that serve no data and so need no token (the web interface's static files).
PUBLIC_BLUEPRINTS = {"ui"}


def authenticate():
    if request.routing_exception is not None:
        return  # unknown route or method: let its 404/405 through
    if request.blueprint in PUBLIC_BLUEPRINTS or is_public(current_app.view_functions[request.endpoint]):
        return  # the web interface's files, health checks and the API description need no token
    user = request_user(_bearer_token())
    if user is None:
        raise Unauthorized("Invalid API token.")
    g.user = user
    g.principal = Principal.of(user)
    # What this request changes is recorded as this user's doing (services/audit.py).
    g.audit_actor = audit.set_actor(audit.actor_of(user))


def close_session(_exc=None):
    actor = g.pop("audit_actor", None)
    if actor is not None:
        audit.reset_actor(actor)
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def register(app):
    errors.register(app)
    app.before_request(check_url)
    app.before_request(authenticate)
    app.teardown_appcontext(close_session)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(health.bp)
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = unit_of_work(view)
