"""Body of our search extension route (keyword and semantic search in a dataset)."""
from marshmallow import ValidationError, fields, validate

from ..vocabulary import KEYWORD, SEARCH_KINDS
from .fields import Schema, StrictInteger, String, one_of
from .query import CommentFilter, attribute_filters_field

DEFAULT_LIMIT = 50
MAX_LIMIT = 512
MAX_QUERY_CHARS = 2048


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be empty.")


def _unicode(value: str) -> None:
    # JSON lets "\ud800" through; the embedding model's tokenizer would choke on it.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Must be valid Unicode text (it has a lone surrogate).") from None


class SearchRequest(Schema):
    query = String(required=True, validate=[_not_blank, _unicode, validate.Length(max=MAX_QUERY_CHARS)])
    kind = String(load_default=KEYWORD, validate=one_of(SEARCH_KINDS))
    limit = StrictInteger(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    filter = fields.Nested(CommentFilter, load_default=dict, allow_none=True)
    # As on the query route: assigned or predicted labels, attachments.
    attribute_filters = attribute_filters_field()
