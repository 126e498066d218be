from marshmallow import fields

from .fields import Schema, StrictBooleanFromString, StrictIntegerFromString, String, one_of

SENTIMENTS = ("positive", "negative")


class Label(Schema):
    name = String(required=True)
    sentiment = String(required=True, validate=one_of(SENTIMENTS))
    metadata = fields.Dict(allow_none=True)


class GroupLabelling(Schema):
    group = String(load_default="default")
    assigned = fields.List(fields.Nested(Label))
    dismissed = fields.List(fields.Nested(Label))


class GroupLabellingRequest(GroupLabelling):
    # The contract makes `group` required on the labelling route (§8.2); the
    # JSONL import keeps GroupLabelling's default for files written by hand.
    group = String(required=True)


class Entities(Schema):
    assigned = fields.List(fields.Dict(), load_default=list)
    dismissed = fields.List(fields.Dict(), load_default=list)


class LabellingRequest(Schema):
    labelling = fields.List(fields.Nested(GroupLabellingRequest))
    entities = fields.Nested(Entities, allow_none=True)
    moon_forms = fields.List(fields.Dict(), allow_none=True)


class LabellingsQuery(Schema):
    source_id = String()
    return_predictions = StrictBooleanFromString(load_default=False)
    after = String()
    limit = StrictIntegerFromString(load_default=64)
