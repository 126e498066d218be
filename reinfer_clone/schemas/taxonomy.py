"""Bodies of the label rename / move and delete routes (our extension)."""
from .fields import Schema, String


class RenameLabelRequest(Schema):
    name = String(required=True)
    # The new full path: a new last part renames, a new parent moves, or both.
    new_name = String(required=True)


class DeleteLabelQuery(Schema):
    name = String(required=True)
