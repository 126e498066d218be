from marshmallow import fields

from .fields import Schema, String, UTCDateTime


class ProjectSchema(Schema):
    id = String()
    name = String()
    title = String()
    description = String()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class ProjectFields(Schema):
    title = String()
    description = String()


class NewProjectRequest(Schema):
    project = fields.Nested(ProjectFields, load_default=dict)
    user_ids = fields.List(String(), load_default=list)


class ProjectUpdateRequest(Schema):
    project = fields.Nested(ProjectFields, required=True)
