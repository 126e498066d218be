from flask import Blueprint, g

from ..schemas.users import UserSchema
from .support import ok

bp = Blueprint("auth", __name__, url_prefix="/auth")


# Any valid token may read itself; authentication already happened.
@bp.get("/user")
def current_user():
    return ok(user=UserSchema().dump(g.user))


@bp.post("/refresh-user-permissions")
def refresh_user_permissions():
    # Permissions are read from the database on every request: nothing to refresh.
    return ok(permissions_refreshed=True)
