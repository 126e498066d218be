from marshmallow import ValidationError, fields, validate

from .fields import Schema, String

MAX_TEXTS = 8


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must be a non-empty string.")


class InferenceRequest(Schema):
    texts = fields.List(
        String(validate=_not_blank), required=True,
        validate=validate.Length(min=1, max=MAX_TEXTS, error=f"Between 1 and {MAX_TEXTS} texts."),
    )
