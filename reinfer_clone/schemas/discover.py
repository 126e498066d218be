"""Body of the discover route (our extension): which comments to cluster, and how."""
from __future__ import annotations

from marshmallow import fields, validate

from .fields import Schema, StrictBoolean, StrictInteger
from .query import CommentFilter

MIN_CLUSTERS = 2
MAX_CLUSTERS = 200
DEFAULT_SAMPLES = 5
MAX_SAMPLES = 50
# What numpy and scikit-learn accept as a random seed.
MAX_SEED = 2**32 - 1


class DiscoverRequest(Schema):
    # Absent or null: chosen from the number of comments.
    n_clusters = StrictInteger(allow_none=True, validate=validate.Range(min=MIN_CLUSTERS, max=MAX_CLUSTERS))
    filter = fields.Nested(CommentFilter, load_default=dict, allow_none=True)
    # Absent: services.discover.DEFAULT_MAX_COMMENTS; the ceiling is a setting.
    max_comments = StrictInteger(load_default=None, validate=validate.Range(min=1))
    samples = StrictInteger(load_default=DEFAULT_SAMPLES, validate=validate.Range(min=1, max=MAX_SAMPLES))
    seed = StrictInteger(load_default=0, validate=validate.Range(min=0, max=MAX_SEED))
    unreviewed_only = StrictBoolean(load_default=False)
    # Every member's uid in `uids`: for labelling or exporting a whole cluster.
    include_uids = StrictBoolean(load_default=False)
