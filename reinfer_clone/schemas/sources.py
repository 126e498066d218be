from marshmallow import fields

from ..wire import format_datetime
from .fields import Schema, StrictBoolean, String, StringList, UTCDateTime
from .query import SourceCommentFilter


class SourceSchema(Schema):
    id = String()
    owner = String()
    name = String()
    title = String()
    description = String()
    language = String()
    should_translate = fields.Boolean()
    sensitive_properties = StringList()
    bucket_id = String(allow_none=True)
    kind = String(data_key="_kind")
    email_transform_tag = String(allow_none=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    last_modified = fields.Function(lambda source: format_datetime(source.updated_at))


class SourceUpdate(Schema):
    title = String()
    description = String()
    should_translate = StrictBoolean()
    sensitive_properties = StringList()
    email_transform_tag = String(allow_none=True)
    # The client always sends it, possibly null: null clears the bucket.
    bucket_id = String(allow_none=True)


class NewSource(SourceUpdate):
    language = String()
    kind = String(data_key="_kind")


class NewSourceRequest(Schema):
    source = fields.Nested(NewSource, required=True)


class SourceUpdateRequest(Schema):
    source = fields.Nested(SourceUpdate, required=True)


class SourceStatisticsRequest(Schema):
    comment_filter = fields.Nested(SourceCommentFilter, load_default=dict, allow_none=True)
