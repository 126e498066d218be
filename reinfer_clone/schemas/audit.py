"""Audit event query (contract section 19.1); shapes from the client's audit.rs."""
from marshmallow import fields

from marshmallow import validate

from .fields import Schema, StrictInteger, String, UTCDateTime

MAX_LIMIT = 1024


class TimestampRange(Schema):
    minimum = UTCDateTime(load_default=None, allow_none=True)
    maximum = UTCDateTime(load_default=None, allow_none=True)


class AuditFilter(Schema):
    timestamp = fields.Nested(TimestampRange, load_default=dict, allow_none=True)


class AuditQueryRequest(Schema):
    # Newer clients send `null` for what they leave out.
    filter = fields.Nested(AuditFilter, load_default=dict, allow_none=True)
    continuation = String(load_default=None, allow_none=True)
    limit = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(1, MAX_LIMIT))


def _ids():
    return fields.List(String(), required=True)


class AuditEventSchema(Schema):
    event_id = String(required=True)
    event_type = String(required=True)
    timestamp = UTCDateTime(required=True)
    actor_user_id = String(required=True)
    actor_tenant_id = String(required=True)
    tenant_ids = _ids()
    project_ids = _ids()
    dataset_ids = _ids()
    source_ids = _ids()
    user_ids = _ids()
    trigger_ids = _ids()


class AuditProjectSchema(Schema):
    id = String(required=True)
    name = String(required=True)
    tenant_id = String(required=True)


class AuditDatasetSchema(Schema):
    id = String(required=True)
    name = String(required=True)
    project_id = String(required=True)
    title = String(required=True)


class AuditTenantSchema(Schema):
    id = String(required=True)
    name = String(required=True)


class AuditUserSchema(Schema):
    id = String(required=True)
    username = String(required=True)
    display_name = String(required=True)
    email = String(required=True)
    tenant_id = String(required=True)
