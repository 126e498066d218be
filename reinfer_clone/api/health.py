"""`GET /healthz` (the process is up) and `GET /readyz` (the database answers and
is migrated): no token, so load balancers and orchestrators can probe them."""
from flask import Blueprint

from ..services import health
from .errors import error_response
from .support import db, ok

bp = Blueprint("health", __name__)

# Endpoints that `authenticate` lets through without a token.
PUBLIC_ENDPOINTS = frozenset({"health.healthz", "health.readyz"})


@bp.get("/healthz")
def healthz():
    return ok()


@bp.get("/readyz")
def readyz():
    state = health.readiness(db())
    migrations = {"current": list(state.current), "head": list(state.head)}
    if not state.ready:
        return error_response(503, state.message, migrations=migrations)
    return ok(database="ok", migrations=migrations)
