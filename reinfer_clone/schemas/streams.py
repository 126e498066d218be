"""Streams (contract §12): requests, and the Stream object."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from ..vocabulary import LABEL_SEPARATOR, NAME_RE, NAME_RULE
from .fields import Schema, StrictInteger, StrictIntegerFromString, String, UTCDateTime
from .labellers import Probability

MAX_FETCH = 1024


class LabelPath(fields.Field):
    """A label as its list of path parts (what the Stream object echoes); a
    `" > "` string is accepted and split."""

    openapi = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.split(LABEL_SEPARATOR)
        if (isinstance(value, list) and value
                and all(isinstance(part, str) and part.strip() for part in value)):
            return value
        raise ValidationError("Must be a non-empty list of non-empty strings.")


class LabelThreshold(Schema):
    name = LabelPath(required=True)
    threshold = Probability(required=True)


class StreamModel(Schema):
    version = StrictInteger(required=True, validate=validate.Range(min=1))
    label_thresholds = fields.List(fields.Nested(LabelThreshold), load_default=list)


class _StreamFields(Schema):
    title = String(allow_none=True)
    description = String(allow_none=True)
    # Checked by services.comment_filter.parse, which names the bad part's path.
    comment_filter = fields.Raw(allow_none=True)
    model = fields.Nested(StreamModel, allow_none=True)


class NewStream(_StreamFields):
    name = String(required=True, validate=validate.Regexp(
        NAME_RE, error=NAME_RULE))


class CreateStreamRequest(Schema):
    stream = fields.Nested(NewStream, required=True)


class UpdateStreamRequest(Schema):
    stream = fields.Nested(_StreamFields, required=True)


class FetchRequest(Schema):
    size = StrictInteger(required=True, validate=validate.Range(
        min=1, max=MAX_FETCH, error=f"Must be between 1 and {MAX_FETCH}."))


class ResultsQuery(Schema):
    """`GET .../results`: a fetch that stops at `max_results` results or
    `max_filtered` skipped comments, whichever comes first."""

    max_results = StrictIntegerFromString(load_default=16, validate=validate.Range(
        min=1, max=MAX_FETCH, error=f"Must be between 1 and {MAX_FETCH}."))
    max_filtered = StrictIntegerFromString(load_default=MAX_FETCH, validate=validate.Range(
        min=1, max=MAX_FETCH, error=f"Must be between 1 and {MAX_FETCH}."))


class AdvanceRequest(Schema):
    sequence_id = String(required=True)


class ResetRequest(Schema):
    to_comment_created_at = UTCDateTime(required=True)


class ExceptionMetadata(Schema):
    type = String(required=True, validate=validate.Length(min=1, max=1024))


class StreamExceptionItem(Schema):
    metadata = fields.Nested(ExceptionMetadata, required=True)
    uid = String(required=True)


class ExceptionsRequest(Schema):
    exceptions = fields.List(fields.Nested(StreamExceptionItem), required=True, validate=validate.Length(
        max=MAX_FETCH, error=f"At most {MAX_FETCH} exceptions per request."))


class StreamSchema(Schema):
    id = String()
    dataset_id = String()
    name = String()
    title = String()
    description = String()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    comment_filter = fields.Raw()
    model = fields.Raw()
    # Legacy; the client reads it as an Option, so null is its "unset".
    label_threshold_filter = fields.Constant(None)


_stream_schema = StreamSchema()


def dump_stream(stream) -> dict:
    out = _stream_schema.dump(stream)
    if out["model"] is None:
        del out["model"]  # opt: absent rather than null
    return out
