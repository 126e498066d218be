"""Response objects that services build as dicts (no dump schema of their own),
described for the OpenAPI document only: nothing dumps through these.

Objects whose inner shape is open-ended (statistics, validation curves,
discover clusters) are typed at their top level and `object` inside."""
from __future__ import annotations

from marshmallow import fields

from .fields import Schema, String, UTCDateTime


def Obj(**kwargs):
    return fields.Dict(**kwargs)


def ObjList(**kwargs):
    return fields.List(fields.Dict(), **kwargs)


class CommentSchema(Schema):
    """The Comment object (contract §6.1)."""

    id = String(required=True)
    uid = String(required=True)
    source_id = String(required=True)
    timestamp = UTCDateTime(required=True)
    messages = ObjList(required=True)
    created_at = UTCDateTime(required=True)
    last_modified = UTCDateTime(required=True)
    has_annotations = fields.Boolean(required=True)
    text_format = String(required=True)
    thread_id = String()
    user_properties = Obj()
    attachments = ObjList()


class TrainingJobSchema(Schema):
    id = String(required=True)
    dataset_id = String(required=True)
    status = String(required=True)
    reason = String(allow_none=True)
    created_at = UTCDateTime(required=True)
    not_before = UTCDateTime(allow_none=True)
    started_at = UTCDateTime()
    finished_at = UTCDateTime()
    error = String()
    model_version = fields.Integer()
    stats = Obj()


class ModelRatingSchema(Schema):
    score = fields.Float(required=True)
    quality = String(required=True)


class ModelSummarySchema(Schema):
    version = fields.Integer(required=True)
    time = UTCDateTime(required=True)
    reviewed_size = fields.Integer()
    num_labels = fields.Integer()
    model_rating = fields.Nested(ModelRatingSchema)


class ModelVersionRefSchema(Schema):
    version = fields.Integer(required=True)
    time = UTCDateTime()


class ModelTagSchema(Schema):
    name = String(required=True)
    version = fields.Integer(required=True, allow_none=True)
    updated_at = UTCDateTime(allow_none=True)


class LabellerSchema(Schema):
    version = fields.Integer(required=True)


class LabelValidationSchema(Schema):
    thresholds = fields.List(fields.Float(), required=True)
    precisions = fields.List(fields.Float(), required=True)
    recalls = fields.List(fields.Float(), required=True)


class V2ModelSchema(Schema):
    id = fields.Integer(required=True, allow_none=True)
    name = String(required=True)
    version = fields.Integer(required=True)
    family = String(required=True)


class SyncCounts(Schema):
    new = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class AnnotatedCommentSchema(Schema):
    """An AnnotatedComment (contract §8.1)."""

    comment = fields.Nested(CommentSchema, required=True)
    labelling = ObjList()
    entities = Obj()
    moon_forms = ObjList()
    predictions = Obj()  # export pages: {"labels": [...]}


class StreamResultSchema(Schema):
    comment = fields.Nested(CommentSchema, required=True)
    sequence_id = String()
    labels = ObjList()
    entities = ObjList()
    prediction = Obj()


class InferenceSchema(Schema):
    label = String(required=True)
    confidence = fields.Float(required=True)


class InferenceResultSchema(Schema):
    predictions = fields.List(fields.Nested(InferenceSchema), required=True)
    text_language = String(allow_none=True)
