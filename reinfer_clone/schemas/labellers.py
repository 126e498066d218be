"""Requests of the training, validation and prediction routes (contract §10, §11)."""

from marshmallow import ValidationError, fields, validate

from .fields import Schema, StrictBoolean, StrictInteger, String, UTCDateTime, is_number

MAX_UIDS = 512
MAX_DOCUMENTS = 4096


class Probability(fields.Field):
    """A finite number in [0, 1]; booleans are not numbers here."""

    openapi = {"type": "number", "minimum": 0, "maximum": 1}

    def _deserialize(self, value, attr, data, **kwargs):
        if not is_number(value):
            raise ValidationError("Must be a number.")
        if not 0 <= value <= 1:
            raise ValidationError("Must be between 0 and 1.")
        return float(value)


class Threshold(Probability):
    """`"auto"` or a probability."""

    openapi = {"oneOf": [{"type": "string", "enum": ["auto"]},
                         {"type": "number", "minimum": 0, "maximum": 1}]}

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "auto":
            return value
        if isinstance(value, str):
            raise ValidationError("Must be \"auto\" or a number between 0 and 1.")
        return super()._deserialize(value, attr, data, **kwargs)


class LabelName(fields.Field):
    """A label as a list of path parts or a `" > "` string; loads as the string."""

    openapi = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.strip():
            return value
        if (isinstance(value, list) and value
                and all(isinstance(part, str) and part.strip() for part in value)):
            return " > ".join(value)
        raise ValidationError("Must be a non-empty list of strings or a string.")


class LabelThreshold(Schema):
    name = LabelName(required=True)
    threshold = Probability(required=True)


class TrainRequest(Schema):
    wait = StrictBoolean(load_default=False)


class ModelTagRequest(Schema):
    version = StrictInteger(required=True, validate=validate.Range(min=1))


class LabelValidationRequest(Schema):
    label = LabelName(required=True)


class _Predict(Schema):
    threshold = Threshold()
    labels = fields.List(fields.Nested(LabelThreshold))


class PredictCommentsRequest(_Predict):
    uids = fields.List(String(), required=True, validate=validate.Length(
        max=MAX_UIDS, error=f"At most {MAX_UIDS} uids per request."))


class Text(Schema):
    text = String(required=True)


class Message(Schema):
    subject = fields.Nested(Text)
    body = fields.Nested(Text, required=True)


class Document(Schema):
    messages = fields.List(fields.Nested(Message), required=True,
                           validate=validate.Length(min=1, error="At least one message."))
    user_properties = fields.Dict()
    timestamp = UTCDateTime()


class PredictRequest(_Predict):
    documents = fields.List(fields.Nested(Document), required=True, validate=validate.Length(
        max=MAX_DOCUMENTS, error=f"At most {MAX_DOCUMENTS} documents per request."))
