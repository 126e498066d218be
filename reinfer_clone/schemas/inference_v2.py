from marshmallow import ValidationError, fields, validate

from .fields import Schema, StrictInteger, String

MAX_TEXTS = 8
# Models one multi-model request may name: each costs a linear head per text,
# and at most two encoders run whatever the count.
MAX_MODELS = 10


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must be a non-empty string.")


def _unit_interval(value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValidationError("Must be a number between 0 and 1.")


def _distinct(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Must not repeat a model id.")


def _texts():
    return fields.List(
        String(validate=_not_blank), required=True,
        validate=validate.Length(min=1, max=MAX_TEXTS, error=f"Between 1 and {MAX_TEXTS} texts."),
    )


class _Options(Schema):
    # Labelf's options: at most this many predictions per text, none below the threshold.
    max_predictions = StrictInteger(validate=validate.Range(min=1, error="Must be an integer of at least 1."))
    threshold = fields.Float(allow_nan=False, validate=_unit_interval)


class InferenceRequest(_Options):
    texts = _texts()
    # Only these labels (each must be a label of the served version).
    label_filter = fields.List(String(validate=_not_blank),
                               validate=validate.Length(min=1, error="Name at least one label."))


class MultiInferenceRequest(_Options):
    texts = _texts()
    model_ids = fields.List(
        StrictInteger(validate=validate.Range(min=1, error="Must be a positive integer.")), required=True,
        validate=[validate.Length(min=1, max=MAX_MODELS, error=f"Between 1 and {MAX_MODELS} model ids."),
                  _distinct],
    )
