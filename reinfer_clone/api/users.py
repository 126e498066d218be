from flask import Blueprint, g

from ..errors import Forbidden
from ..schemas.users import NewUserRequest, UserSchema, UserUpdateRequest
from ..services import users
from .spec import doc
from .support import db, load, ok, principal

bp = Blueprint("users", __name__)
user_schema = UserSchema()


def _require_read():
    if not principal().can_read_users():
        raise Forbidden("You do not have the 'users-read' permission.")


def _require_write():
    if not principal().can_write_users():
        raise Forbidden("You do not have the 'users-write' permission.")


@bp.get("/api/_private/users")
@bp.get("/api/v1/users")
@doc(response={"users": [UserSchema]},
     permission="`users-read` on any project, or `root`/`tenant-admin`.")
def list_users():
    _require_read()
    return ok(users=user_schema.dump(users.list_all(db()), many=True))


@bp.put("/api/_private/users")
@doc(body=NewUserRequest, response={"user": UserSchema},
     permission="`users-write`; only codes the caller may grant.")
def create_user():
    _require_write()
    new = load(NewUserRequest())["user"]
    principal().require_can_grant(new["global_permissions"], new["organisation_permissions"])
    user = users.create(
        db(), new["username"], new["email"], new["global_permissions"], new["organisation_permissions"]
    )
    return ok(user=user_schema.dump(user))


@bp.get("/api/_private/users/<user_id>")
@doc(response={"user": UserSchema},
     permission="Any valid token for the caller itself; `users-read` for another user.")
def get_user(user_id):
    if user_id != g.user.id:
        _require_read()
    return ok(user=user_schema.dump(users.get(db(), user_id)))


@bp.post("/api/_private/users/<user_id>")
@doc(body=UserUpdateRequest, response={"user": UserSchema},
     permission="`users-write`; only codes the caller may grant.")
def update_user(user_id):
    _require_write()
    changes = load(UserUpdateRequest())["user"]
    principal().require_can_grant(
        changes.get("global_permissions", []), changes.get("organisation_permissions", {})
    )
    user = users.update(db(), users.get(db(), user_id), **changes)
    return ok(user=user_schema.dump(user))


@bp.delete("/api/_private/users/<user_id>")
@doc(permission="`users-write`.")
def delete_user(user_id):
    _require_write()
    users.delete(db(), users.get(db(), user_id))
    return ok()


@bp.post("/api/_private/users/<user_id>/welcome-email")
@doc(permission="`users-write`.")
def send_welcome_email(user_id):
    _require_write()
    users.get(db(), user_id)
    return ok()  # no mail is sent by a self-hosted server
