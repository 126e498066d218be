from flask import Blueprint

from ..schemas.users import NewUserRequest, UserSchema, UserUpdateRequest
from ..services import users
from .support import db, load, ok, principal

bp = Blueprint("users", __name__)
user_schema = UserSchema()


@bp.get("/api/_private/users")
@bp.get("/api/v1/users")
def list_users():
    return ok(users=user_schema.dump(users.list_visible(db(), principal()), many=True))


@bp.put("/api/_private/users")
def create_user():
    principal().require_users_write()
    new = load(NewUserRequest())["user"]
    user = users.create(db(), new["username"], new["email"], new["global_permissions"],
                        new["organisation_permissions"], principal())
    return ok(user=user_schema.dump(users.view(principal(), user)))


@bp.get("/api/_private/users/<user_id>")
def get_user(user_id):
    user = users.get_visible(db(), principal(), user_id)
    return ok(user=user_schema.dump(users.view(principal(), user)))


@bp.post("/api/_private/users/<user_id>")
def update_user(user_id):
    principal().require_users_write()
    changes = load(UserUpdateRequest())["user"]
    user = users.update(db(), principal(), users.get_visible(db(), principal(), user_id), **changes)
    return ok(user=user_schema.dump(users.view(principal(), user)))


@bp.delete("/api/_private/users/<user_id>")
def delete_user(user_id):
    users.delete(db(), principal(), users.get_visible(db(), principal(), user_id))
    return ok()


@bp.post("/api/_private/users/<user_id>/welcome-email")
def send_welcome_email(user_id):
    principal().require_users_write()
    users.get_visible(db(), principal(), user_id)
    return ok()  # no mail is sent by a self-hosted server
