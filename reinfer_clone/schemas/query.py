"""Bodies of the dataset query, recent, statistics and summary routes (contract §9),
and the CommentFilter they share with source statistics and streams.

Optional values may be `null` as well as absent: the client serializes some
`Option`s (the bounds of `number_range`) as `null`.
"""
from __future__ import annotations


from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from ..vocabulary import ATTACHMENT_COUNT, ATTRIBUTES, LABEL_ORDERS
from .fields import Schema, StrictBoolean, StrictInteger, String, UTCDateTime, is_number, one_of

REVIEWED = ("only_reviewed", "only_unreviewed")
ORDER_KINDS = ("recent", "by_label", "sample", "low_confidence", "teach", "check", "missed", "rebalance")
TIME_RESOLUTIONS = ("day", "week", "month")
PROPERTY_KINDS = ("string", "number")


class Number(fields.Field):
    """A finite JSON number; never a string, a boolean or NaN."""

    openapi = {"type": "number"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not is_number(value):
            raise ValidationError("Not a valid finite number.")
        return value


class PropertyValue(fields.Field):
    """A string or a finite number, as a user property holds."""

    openapi = {"oneOf": [{"type": "string"}, {"type": "number"}]}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) and not is_number(value):
            raise ValidationError("Not a valid string or finite number.")
        return value


class PropertyFilter(Schema):
    one_of = fields.List(PropertyValue(), allow_none=True)
    not_one_of = fields.List(PropertyValue(), allow_none=True)
    domain_not_one_of = fields.List(String(), allow_none=True)
    minimum = Number(allow_none=True)
    maximum = Number(allow_none=True)


_property_filter = PropertyFilter()


class PropertyFilters(fields.Field):
    """`user_properties`: full property name -> PropertyFilter. Errors are keyed by
    the property name, so they read `filter.user_properties.string:Channel.one_of`."""

    # Each value is a PropertyFilter object.
    openapi = {"type": "object", "additionalProperties": {"type": "object"}}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("Not a valid mapping type.")
        out, errors = {}, {}
        for name, spec in value.items():
            kind, sep, rest = name.partition(":")
            if not sep or kind not in PROPERTY_KINDS or not rest:
                errors[name] = ["Property names must start with 'string:' or 'number:'."]
                continue
            if not isinstance(spec, dict):
                errors[name] = ["Not a valid mapping type."]
                continue
            try:
                loaded = _property_filter.load(spec)
            except ValidationError as error:
                errors[name] = error.messages
                continue
            if kind == "string":
                for bound in ("minimum", "maximum"):
                    if loaded.get(bound) is not None:
                        errors.setdefault(name, {})[bound] = ["Only 'number:' properties have a range."]
            elif loaded.get("domain_not_one_of"):
                errors[name] = {"domain_not_one_of": ["Only 'string:' properties have domains."]}
            out[name] = loaded
        if errors:
            raise ValidationError(errors)
        return out


class MessagesFilter(Schema):
    from_ = fields.Nested(PropertyFilter, data_key="from", allow_none=True)
    to = fields.Nested(PropertyFilter, allow_none=True)

    @validates_schema(skip_on_field_errors=True)
    def addresses_have_no_range(self, data, **kwargs):
        errors = {}
        for key, spec in (("from", data.get("from_")), ("to", data.get("to"))):
            for bound in ("minimum", "maximum"):
                if spec and spec.get(bound) is not None:
                    errors.setdefault(key, {})[bound] = ["Addresses have no numeric range."]
        if errors:
            raise ValidationError(errors)


class TimestampRange(Schema):
    minimum = UTCDateTime(allow_none=True)
    maximum = UTCDateTime(allow_none=True)


class CommentFilter(Schema):
    reviewed = String(allow_none=True, validate=one_of(REVIEWED))
    timestamp = fields.Nested(TimestampRange, allow_none=True)
    sources = fields.List(String(), allow_none=True)
    user_properties = PropertyFilters(allow_none=True)
    messages = fields.Nested(MessagesFilter, allow_none=True)


class SourceCommentFilter(CommentFilter):
    """A filter over one source: review state needs a dataset, so it is refused
    rather than silently ignored."""

    @validates_schema(skip_on_field_errors=True)
    def no_review_state(self, data, **kwargs):
        if data.get("reviewed") is not None:
            raise ValidationError(
                "Review state belongs to a dataset: use the dataset statistics route.", "reviewed"
            )


class StringAnyOf(Schema):
    kind = String()
    any_of = fields.List(String(), required=True)


class NumberRange(Schema):
    kind = String()
    minimum = StrictInteger(allow_none=True, validate=validate.Range(min=0))
    maximum = StrictInteger(allow_none=True, validate=validate.Range(min=0))


class AttributeFilter(Schema):
    attribute = String(required=True, validate=one_of(ATTRIBUTES))
    filter = fields.Dict(required=True)

    @post_load
    def load_filter(self, data, **kwargs):
        kind = "number_range" if data["attribute"] == ATTACHMENT_COUNT else "string_any_of"
        given = data["filter"].get("kind")
        if given != kind:
            message = f"'{given}' is not one of ['{kind}'] (for attribute '{data['attribute']}')"
            raise ValidationError({"filter": {"kind": [message]}})
        schema = NumberRange() if kind == "number_range" else StringAnyOf()
        try:
            data["filter"] = schema.load(data["filter"])
        except ValidationError as error:
            raise ValidationError({"filter": error.messages}) from None
        return data


class Order(Schema):
    kind = String(required=True, validate=one_of(ORDER_KINDS))
    label = String()
    seed = StrictInteger(validate=validate.Range(min=0))
    # Extension (contract §20): score under this model version instead of the latest.
    model_version = StrictInteger(allow_none=True, validate=validate.Range(min=1))

    @validates_schema(skip_on_field_errors=True)
    def parameters(self, data, **kwargs):
        if data["kind"] in LABEL_ORDERS and not data.get("label"):
            raise ValidationError(f"Order '{data['kind']}' needs a label.", "label")
        if data["kind"] == "sample" and data.get("seed") is None:
            raise ValidationError("Order 'sample' needs a seed.", "seed")


def attribute_filters_field(**kwargs):
    return fields.List(fields.Nested(AttributeFilter), load_default=list, allow_none=True, **kwargs)


class QueryRequest(Schema):
    filter = fields.Nested(CommentFilter, load_default=dict, allow_none=True)
    # The contract requires `order`; a script that leaves it out gets `recent`.
    order = fields.Nested(Order, load_default=lambda: {"kind": "recent"})
    limit = StrictInteger(allow_none=True, validate=validate.Range(min=1))
    continuation = String(allow_none=True)
    attribute_filters = attribute_filters_field()
    search = String(allow_none=True)


class RecentRequest(Schema):
    filter = fields.Nested(CommentFilter, load_default=dict, allow_none=True)
    limit = StrictInteger(allow_none=True, validate=validate.Range(min=1))
    continuation = String(allow_none=True)


class StatisticsRequest(Schema):
    comment_filter = fields.Nested(CommentFilter, load_default=dict, allow_none=True)
    attribute_filters = attribute_filters_field()
    label_timeseries = StrictBoolean(load_default=False)
    # Accepted for the client's sake; there are no label properties to chart.
    label_property_timeseries = StrictBoolean(load_default=False)
    time_resolution = String(allow_none=True, validate=one_of(TIME_RESOLUTIONS))
    # Our extension: label counts without a time series.
    label_counts = StrictBoolean(load_default=False)
    # Our extension: reviewed comments counted by who labelled them.
    reviewed_by_user = StrictBoolean(load_default=False)


class SummaryRequest(Schema):
    filter = fields.Nested(CommentFilter, load_default=dict, allow_none=True)
    attribute_filters = attribute_filters_field()
