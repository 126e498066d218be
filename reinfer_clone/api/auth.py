from flask import Blueprint, g
from marshmallow import fields

from ..schemas.users import UserSchema
from .spec import doc
from .support import ok

bp = Blueprint("auth", __name__, url_prefix="/auth")


# Any valid token may read itself; authentication already happened.
@bp.get("/user")
@doc(response={"user": UserSchema}, permission="Any valid token (the caller itself).")
def current_user():
    return ok(user=UserSchema().dump(g.user))


@bp.post("/refresh-user-permissions")
@doc(response={"permissions_refreshed": fields.Boolean(required=True)}, permission="Any valid token.")
def refresh_user_permissions():
    # Permissions are read from the database on every request: nothing to refresh.
    return ok(permissions_refreshed=True)
