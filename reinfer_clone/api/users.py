from flask import Blueprint

from ..schemas.users import NewUserRequest, UserSchema, UserUpdateRequest
from ..services import users
from .spec import doc
from .support import db, load, ok, principal

bp = Blueprint("users", __name__)
user_schema = UserSchema()


@bp.get("/api/_private/users")
@bp.get("/api/v1/users")
@doc(response={"users": [UserSchema]},
     permission="`users-read` on any project, or `root`/`tenant-admin`. Scoped callers see only the "
                "users sharing a project where they hold `users-read` or `users-write`, with those projects' codes.")
def list_users():
    return ok(users=user_schema.dump(users.list_visible(db(), principal()), many=True))


@bp.put("/api/_private/users")
@doc(body=NewUserRequest, response={"user": UserSchema},
     permission="`users-write` on every project named (or `tenant-admin`); nobody grants a code they lack "
                "there; global codes need `tenant-admin`, `root` needs `root`.")
def create_user():
    principal().require_users_write()
    new = load(NewUserRequest())["user"]
    user = users.create(db(), new["username"], new["email"], new["global_permissions"],
                        new["organisation_permissions"], principal())
    return ok(user=user_schema.dump(users.view(principal(), user)))


@bp.get("/api/_private/users/<user_id>")
@doc(response={"user": UserSchema},
     permission="Any valid token for the caller itself; another user must share a project where the caller "
                "holds `users-read` or `users-write` (else 404).")
def get_user(user_id):
    user = users.get_visible(db(), principal(), user_id)
    return ok(user=user_schema.dump(users.view(principal(), user)))


@bp.post("/api/_private/users/<user_id>")
@doc(body=UserUpdateRequest, response={"user": UserSchema},
     permission="`users-write`: replaces only the codes of projects where the caller holds it; global codes "
                "need `tenant-admin` (`root` for `root`); nobody grants a code they lack.")
def update_user(user_id):
    principal().require_users_write()
    changes = load(UserUpdateRequest())["user"]
    user = users.update(db(), principal(), users.get_visible(db(), principal(), user_id), **changes)
    return ok(user=user_schema.dump(users.view(principal(), user)))


@bp.delete("/api/_private/users/<user_id>")
@doc(permission="`tenant-admin` (a root user: `root`; never the last root user).")
def delete_user(user_id):
    users.delete(db(), principal(), users.get_visible(db(), principal(), user_id))
    return ok()


@bp.post("/api/_private/users/<user_id>/welcome-email")
@doc(permission="`users-write`.")
def send_welcome_email(user_id):
    principal().require_users_write()
    users.get_visible(db(), principal(), user_id)
    return ok()  # no mail is sent by a self-hosted server
