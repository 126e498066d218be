"""Comments: the upload schema validates, but what is stored is the JSON as
received, so that messages and properties echo back verbatim."""
from __future__ import annotations

from marshmallow import ValidationError, fields

from .fields import (
    Schema,
    StrictInteger,
    StrictIntegerFromString,
    String,
    UTCDateTime,
    is_number,
)
from ..vocabulary import comment_id_problem
from ..wire import parse_datetime

MAX_BATCH = 4096


class Attachment(Schema):
    name = String(required=True)
    size = StrictInteger(bits=64, required=True)  # kept in the comment's JSON
    content_type = String(required=True)
    attachment_reference = String(allow_none=True)
    content_hash = String(allow_none=True)


def validate_comment_id(value: str) -> None:
    problem = comment_id_problem(value)
    if problem:
        raise ValidationError(problem)


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
        elif kind == "number" and not is_number(value):
            errors[key] = ["A 'number:' property needs a finite number."]
    if errors:
        raise ValidationError(errors)


def _batch_size(value):
    if len(value) > MAX_BATCH:
        raise ValidationError(f"At most {MAX_BATCH} comments per request.")


class CommentBatch(Schema):
    comments = fields.List(fields.Raw(), required=True, validate=_batch_size)


def _put(errors: dict, path: tuple, message: str) -> None:
    for key in path[:-1]:
        errors = errors.setdefault(key, {})
    errors.setdefault(path[-1], []).append(message)


_MISSING = "Missing data for required field."
_NOT_STRING = "Not a valid string."
_STRING_LIST_FIELDS = ("to", "cc", "bcc")
_OPTIONAL_STRINGS = ("from", "language")


def _check_text(value, path, errors) -> None:
    if not isinstance(value, dict):
        _put(errors, path, "Not a valid mapping type.")
        return
    if "text" not in value:
        _put(errors, path + ("text",), _MISSING)
    elif not isinstance(value["text"], str):
        _put(errors, path + ("text",), _NOT_STRING)
    if value.get("translated_from") is not None and not isinstance(value["translated_from"], str):
        _put(errors, path + ("translated_from",), _NOT_STRING)


def _check_message(message, path, errors) -> None:
    if not isinstance(message, dict):
        _put(errors, path, "Not a valid mapping type.")
        return
    if "body" not in message:
        _put(errors, path + ("body",), _MISSING)
    else:
        _check_text(message["body"], path + ("body",), errors)
    for part in ("subject", "signature"):
        if message.get(part) is not None:
            _check_text(message[part], path + (part,), errors)
    for key in _OPTIONAL_STRINGS:
        if message.get(key) is not None and not isinstance(message[key], str):
            _put(errors, path + (key,), _NOT_STRING)
    for key in _STRING_LIST_FIELDS:
        value = message.get(key)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            _put(errors, path + (key,), "Not a valid list of strings.")
    if message.get("sent_at") is not None:
        try:
            if not isinstance(message["sent_at"], str):
                raise ValueError("Not a valid datetime string.")
            parse_datetime(message["sent_at"])
        except ValueError as error:
            _put(errors, path + ("sent_at",), str(error))


_attachment_schema = Attachment(many=True)


def _check_comment(raw, errors: dict) -> dict | None:
    """Validate one NewComment by hand: it is the ingest hot path, and marshmallow's
    nested loading cost more than everything else in a sync request together."""
    if not isinstance(raw, dict):
        _put(errors, ("_schema",), "Not a valid mapping type.")
        return None
    comment_id = raw.get("id")
    if "id" not in raw:
        _put(errors, ("id",), _MISSING)
    elif not isinstance(comment_id, str):
        _put(errors, ("id",), _NOT_STRING)
    else:
        try:
            validate_comment_id(comment_id)
        except ValidationError as error:
            _put(errors, ("id",), " ".join(error.messages))
    timestamp = None
    if "timestamp" not in raw:
        _put(errors, ("timestamp",), _MISSING)
    elif not isinstance(raw["timestamp"], str):
        _put(errors, ("timestamp",), "Not a valid datetime string.")
    else:
        try:
            timestamp = parse_datetime(raw["timestamp"])
        except ValueError as error:
            _put(errors, ("timestamp",), str(error))
    messages = raw.get("messages")
    if "messages" not in raw:
        _put(errors, ("messages",), _MISSING)
    elif not isinstance(messages, list):
        _put(errors, ("messages",), "Not a valid list.")
    else:
        for index, message in enumerate(messages):
            _check_message(message, ("messages", index), errors)
    if raw.get("thread_id") is not None and not isinstance(raw["thread_id"], str):
        _put(errors, ("thread_id",), _NOT_STRING)
    properties = raw.get("user_properties")
    if properties is not None:
        if not isinstance(properties, dict):
            _put(errors, ("user_properties",), "Not a valid mapping type.")
        else:
            try:
                validate_user_properties(properties)
            except ValidationError as error:
                errors["user_properties"] = error.messages
    attachments = raw.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            _put(errors, ("attachments",), "Not a valid list.")
        elif attachments:
            try:
                _attachment_schema.load(attachments)
            except ValidationError as error:
                errors["attachments"] = error.messages
    if errors:
        return None
    return {
        "external_id": comment_id,
        "timestamp": timestamp,
        "thread_id": raw.get("thread_id"),
        "messages": messages,
        "user_properties": properties or {},
        "attachments": attachments or [],
    }


def parse_comments(items: list) -> list[dict]:
    """Validate a batch; return one record per comment holding the JSON as received.

    Errors name the comment's index: `comments.3.timestamp: ...`.
    """
    records, errors = [], {}
    for index, raw in enumerate(items):
        comment_errors: dict = {}
        record = _check_comment(raw, comment_errors)
        if comment_errors:
            errors[index] = comment_errors
        records.append(record)
    if errors:
        raise ValidationError({"comments": errors})
    return records


class CommentPageQuery(Schema):
    """Query string of the comment iteration route (both spellings of each bound)."""

    limit = StrictIntegerFromString(load_default=64)
    from_timestamp = UTCDateTime()
    from_ = UTCDateTime(data_key="from")
    to_timestamp = UTCDateTime()
    to = UTCDateTime()
    after = String()
    continuation = String()
