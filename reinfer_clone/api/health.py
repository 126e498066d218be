"""`GET /healthz` (the process is up) and `GET /readyz` (the database answers and
is migrated): no token, so load balancers and orchestrators can probe them."""
from flask import Blueprint
from marshmallow import fields

from ..services import health
from .errors import error_response
from .spec import doc
from .support import db, ok

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@doc(public=True, permission="None: no token is needed.")
def healthz():
    return ok()


@bp.get("/readyz")
@doc(public=True, permission="None: no token is needed. 503 when the database is unreachable or not migrated.",
     response={"database": fields.String(required=True), "migrations": fields.Dict(required=True)})
def readyz():
    state = health.readiness(db())
    migrations = {"current": list(state.current), "head": list(state.head)}
    if not state.ready:
        return error_response(503, state.message, migrations=migrations)
    return ok(database="ok", migrations=migrations)
