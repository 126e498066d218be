"""Fields shared by every schema: strict types and offset-aware datetimes."""
from __future__ import annotations

import math

from marshmallow import EXCLUDE, Schema as _Schema, ValidationError, fields

from ..errors import not_one_of
from ..wire import format_datetime, parse_datetime  # noqa: F401 (the fields' wire format)


class Schema(_Schema):
    class Meta:
        # The official client sends fields we do not model: ignore, never reject.
        unknown = EXCLUDE


class UTCDateTime(fields.Field):
    """Serializes as `2024-03-05T09:14:00.123456Z`; refuses naive input."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_datetime(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a valid datetime string.")
        try:
            return parse_datetime(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class StrictBoolean(fields.Boolean):
    """Only JSON true/false; marshmallow's default also takes "yes", 1, ..."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean (expected true or false).")
        return value


# Every integer field of the API (versions, limits, sizes, seeds, counts) is
# stored in, or compared with, a 32-bit INTEGER column at most: larger values
# are refused here rather than overflowing PostgreSQL's column (a 500).
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _in_range(value: int, bits: int = 32) -> int:
    low, high = (INT32_MIN, INT32_MAX) if bits == 32 else (INT64_MIN, INT64_MAX)
    if not low <= value <= high:
        raise ValidationError(f"Not a valid integer: must be between {low} and {high}.")
    return value


class StrictInteger(fields.Integer):
    """A JSON integer of 32 bits (`bits=64` for values only kept inside JSON)."""

    def __init__(self, bits: int = 32, **kwargs):
        super().__init__(strict=True, **kwargs)
        self.bits = bits

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return _in_range(super()._deserialize(value, attr, data, **kwargs), self.bits)


class StrictIntegerFromString(fields.Integer):
    """An integer in a query string: ASCII digits only."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a valid integer.")
        digits = value.strip()
        digits = digits[1:] if digits.startswith("-") else digits
        if not (digits.isascii() and digits.isdigit()):
            raise ValidationError("Not a valid integer.")
        if len(digits) > 10:  # never parse thousands of digits
            raise ValidationError(f"Not a valid integer: must be between {INT32_MIN} and {INT32_MAX}.")
        return _in_range(int(value))


def parse_flag(value: str) -> bool | None:
    """A boolean in a query string: `true` or `false` (also 1 / 0); None otherwise."""
    lowered = value.lower() if isinstance(value, str) else None
    return True if lowered in ("true", "1") else False if lowered in ("false", "0") else None


class StrictBooleanFromString(fields.Boolean):
    """A boolean in a query string: `true` or `false` (also 1 / 0)."""

    def _deserialize(self, value, attr, data, **kwargs):
        flag = parse_flag(value)
        if flag is None:
            raise ValidationError("Not a valid boolean (expected true or false).")
        return flag


def is_number(value) -> bool:
    """A finite JSON number: bool is an int subclass in Python, but not a number here."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def one_of(choices):
    """A validator giving the client's `'x' is not one of [...]` message."""
    choices = list(choices)

    def validate(value):
        if value not in choices:
            raise ValidationError(not_one_of(value, choices))

    validate.choices = choices  # apispec documents it as an `enum`
    return validate


def String(**kwargs):
    return fields.String(**kwargs)


def StringList(**kwargs):
    return fields.List(fields.String(), **kwargs)


def _flatten(messages, prefix="") -> list[str]:
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            out.extend(_flatten(value, name))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {' '.join(messages)}"]
    if isinstance(messages, list):
        return [line for m in messages for line in _flatten(m, prefix)]
    return [f"{prefix}: {messages}"]


def describe(error: ValidationError) -> str:
    """One line naming each bad field by its path: `comments.3.timestamp: ...`."""
    return "; ".join(_flatten(error.messages))


# --- OpenAPI -------------------------------------------------------------------------
# How the document (api/spec.py) describes fields apispec cannot type by itself:
# a field class sets `openapi` to its JSON-schema properties; subclasses of
# marshmallow's own fields inherit the right type already.
UTCDateTime.openapi = {"type": "string", "format": "date-time"}
StrictBoolean.openapi = {"type": "boolean"}
StrictInteger.openapi = {"type": "integer"}
StrictIntegerFromString.openapi = {"type": "integer"}
StrictBooleanFromString.openapi = {"type": "boolean"}


def openapi_attributes(_converter, field, ret=None, **kwargs) -> dict:
    """apispec attribute function: the `openapi` properties of a custom field."""
    for cls in type(field).__mro__:
        if "openapi" in vars(cls):
            return dict(cls.openapi)
    return {}
