from marshmallow import fields

from .fields import Schema, StrictInteger, String, UTCDateTime, one_of


class ExportRequest(Schema):
    comment_uids = fields.List(String())
    source_ids = fields.List(String())
    order_by = String(load_default="timestamp", validate=one_of(("timestamp", "created_at")))
    from_ = UTCDateTime(data_key="from")
    to = UTCDateTime()
    continuation = String(allow_none=True)
    limit = StrictInteger(load_default=64)
