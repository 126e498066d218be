from marshmallow import fields

from .fields import Schema, String, StringList, UTCDateTime


class UserSchema(Schema):
    id = String()
    username = String()
    email = String()
    created = UTCDateTime()
    global_permissions = StringList()
    organisation_permissions = fields.Dict(keys=String(), values=StringList())
    sso_global_permissions = fields.Function(lambda _user: [])
    verified = fields.Boolean()


class NewUser(Schema):
    username = String(required=True)
    email = fields.Email(required=True)
    global_permissions = StringList(load_default=list)
    organisation_permissions = fields.Dict(keys=String(), values=StringList(), load_default=dict)


class NewUserRequest(Schema):
    user = fields.Nested(NewUser, required=True)


class UserUpdate(Schema):
    global_permissions = StringList()
    organisation_permissions = fields.Dict(keys=String(), values=StringList())


class UserUpdateRequest(Schema):
    user = fields.Nested(UserUpdate, required=True)
