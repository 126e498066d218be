"""Comments: the upload schema validates, but what is stored is the JSON as
received, so that messages and properties echo back verbatim."""
from __future__ import annotations

import math
import re

from marshmallow import ValidationError, fields, post_dump, validates_schema

from .fields import Schema, String, StrictInteger, StrictIntegerFromString, StringList, UTCDateTime

MAX_BATCH = 4096
_WHITESPACE = re.compile(r"\s")


class Text(Schema):
    text = String(required=True)
    translated_from = String(allow_none=True)
    text_markup = fields.Raw(allow_none=True)
    translated_from_markup = fields.Raw(allow_none=True)


class Message(Schema):
    body = fields.Nested(Text, required=True)
    subject = fields.Nested(Text)
    signature = fields.Nested(Text)
    from_ = String(data_key="from", allow_none=True)
    to = StringList(allow_none=True)
    cc = StringList(allow_none=True)
    bcc = StringList(allow_none=True)
    sent_at = UTCDateTime(allow_none=True)
    language = String(allow_none=True)


class Attachment(Schema):
    name = String(required=True)
    size = StrictInteger(required=True)
    content_type = String(required=True)
    attachment_reference = String(allow_none=True)
    content_hash = String(allow_none=True)


def validate_comment_id(value: str) -> None:
    if not value:
        raise ValidationError("Must not be empty.")
    if len(value) > 1024:
        raise ValidationError("Longer than 1024 characters.")
    if _WHITESPACE.search(value):
        raise ValidationError("Must not contain whitespace.")


def validate_user_properties(properties: dict) -> None:
    errors = {}
    for key, value in properties.items():
        kind, sep, name = key.partition(":")
        if not sep or kind not in ("string", "number"):
            errors[key] = ["Property names must start with 'string:' or 'number:'."]
        elif not name or len(name) > 256:
            errors[key] = ["The name after the type prefix must be 1 to 256 characters."]
        elif kind == "string" and not isinstance(value, str):
            errors[key] = ["A 'string:' property needs a string value."]
        elif kind == "number" and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
        ):
            errors[key] = ["A 'number:' property needs a finite number."]
    if errors:
        raise ValidationError(errors)


class NewComment(Schema):
    id = String(required=True, validate=validate_comment_id)
    timestamp = UTCDateTime(required=True)
    messages = fields.List(fields.Nested(Message), required=True)
    thread_id = String(allow_none=True)
    user_properties = fields.Dict(keys=String(), allow_none=True)
    attachments = fields.List(fields.Nested(Attachment), allow_none=True)

    @validates_schema
    def _properties(self, data, **kwargs):
        if data.get("user_properties"):
            try:
                validate_user_properties(data["user_properties"])
            except ValidationError as error:
                raise ValidationError({"user_properties": error.messages}) from None


def _batch_size(value):
    if len(value) > MAX_BATCH:
        raise ValidationError(f"At most {MAX_BATCH} comments per request.")


class CommentBatch(Schema):
    comments = fields.List(fields.Dict(), required=True, validate=_batch_size)


_new_comments = NewComment(many=True)


def parse_comments(items: list[dict]) -> list[dict]:
    """Validate a batch; return one record per comment holding the JSON as received.

    Errors name the comment's index: `comments.3.timestamp: ...`.
    """
    try:
        parsed = _new_comments.load(items)
    except ValidationError as error:
        raise ValidationError({"comments": error.messages}) from None
    return [
        {
            "external_id": p["id"],
            "timestamp": p["timestamp"],
            "thread_id": p.get("thread_id"),
            "messages": raw["messages"],
            "user_properties": raw.get("user_properties") or {},
            "attachments": raw.get("attachments") or [],
        }
        for raw, p in zip(items, parsed)
    ]


class CommentSchema(Schema):
    """The Comment object of contract §6.1 (the caller strips markup if not asked for)."""

    id = String(attribute="external_id")
    uid = fields.Method("_uid")
    source_id = String()
    timestamp = UTCDateTime()
    thread_id = String()
    messages = fields.Raw()
    user_properties = fields.Raw()
    attachments = fields.Raw()
    created_at = UTCDateTime()
    last_modified = UTCDateTime()
    has_annotations = fields.Boolean()
    text_format = fields.Constant("plain")

    def _uid(self, comment):
        return f"{comment.source_id}.{comment.external_id}"

    @post_dump(pass_original=True)
    def _shape(self, data, comment, **kwargs):
        # Optional parts are omitted when empty, as the client writes them.
        for key in ("thread_id", "user_properties", "attachments"):
            if not data.get(key) and data.get(key) != 0:
                data.pop(key, None)
        if not self.context_markup:
            data["messages"] = strip_markup(data["messages"])
        return data

    def __init__(self, *args, include_markup: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.context_markup = include_markup


MARKUP_KEYS = ("text_markup", "translated_from_markup")


def strip_markup(messages: list) -> list:
    """Messages without markup (a copy: stored JSON is never mutated)."""
    out = []
    for message in messages:
        message = dict(message)
        for part in ("body", "subject", "signature"):
            value = message.get(part)
            if isinstance(value, dict) and any(k in value for k in MARKUP_KEYS):
                message[part] = {k: v for k, v in value.items() if k not in MARKUP_KEYS}
        out.append(message)
    return out


class CommentPageQuery(Schema):
    """Query string of the comment iteration route (both spellings of each bound)."""

    limit = StrictIntegerFromString(load_default=64)
    from_timestamp = UTCDateTime()
    from_ = UTCDateTime(data_key="from")
    to_timestamp = UTCDateTime()
    to = UTCDateTime()
    after = String()
    continuation = String()
