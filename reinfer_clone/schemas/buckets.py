from marshmallow import fields

from .fields import Schema, String, UTCDateTime, one_of

BUCKET_TYPES = ("emails",)


class BucketSchema(Schema):
    id = String()
    name = String()
    owner = String()
    title = String()
    bucket_type = String()
    created_at = UTCDateTime()


class NewBucket(Schema):
    title = String(load_default="")
    bucket_type = String(load_default="emails", validate=one_of(BUCKET_TYPES))


class NewBucketRequest(Schema):
    bucket = fields.Nested(NewBucket, load_default=dict)
