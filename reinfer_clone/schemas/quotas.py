"""Quotas (contract section 19.2); shapes from the client's quota.rs."""
from .fields import Schema, StrictInteger, String


class QuotaSchema(Schema):
    quota_kind = String(required=True)
    hard_limit = StrictInteger(required=True)
    current_max_usage = StrictInteger(required=True)
    auto_increase_up_to = StrictInteger()


class SetQuotaRequest(Schema):
    # The client sends a u32 (older) or i32 (newer): only i32 values round-trip.
    hard_limit = StrictInteger(required=True, validate=lambda v: v >= 0 or _negative())
    auto_increase_up_to = StrictInteger(load_default=None, allow_none=True)


def _negative():
    from marshmallow import ValidationError

    raise ValidationError("Must be at least 0.")
