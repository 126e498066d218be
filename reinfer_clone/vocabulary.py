"""The domain's shared words: names, flags, kinds and identifiers that the
schemas, the services and the classifier all speak.

At the bottom of the package (it imports only `errors`), so every layer may
import it and no layer has to import a sibling for a constant.
"""
from __future__ import annotations

import re

from .errors import InvalidInput

# --- names ------------------------------------------------------------------------
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
NAME_RULE = "Must be 1 to 256 characters from A-Z, a-z, 0-9, '_' and '-'."
HEX_ID_RE = re.compile(r"^[0-9a-f]{16}$")

# --- labels -----------------------------------------------------------------------
# Label names are full paths, "Parent > Child > Grandchild".
LABEL_SEPARATOR = " > "


def label_ancestors(name: str) -> list[str]:
    """Proper ancestors of a label, nearest last: "A > B > C" -> ["A", "A > B"]."""
    parts = name.split(LABEL_SEPARATOR)
    return [LABEL_SEPARATOR.join(parts[:i]) for i in range(1, len(parts))]


# --- datasets ---------------------------------------------------------------------
# Any other value in `_dataset_flags` makes the client fail to parse the dataset.
DATASET_FLAGS = ("gpt4", "external_moon_llm", "qos", "zero_shot_labels", "ixp")
ENTITY_DEF_FLAGS = ("appears_verbatim",)
# IXP model configs are out of scope; `cm` is the only kind we can honour.
MODEL_CONFIG_KINDS = ("cm",)

# --- search -----------------------------------------------------------------------
KEYWORD = "keyword"
SEMANTIC = "semantic"
SEARCH_KINDS = (KEYWORD, SEMANTIC)

# --- query attributes (statistics and attribute filters) ---------------------------
LABELS = "labels"
ATTACHMENT_TYPES = "attachment_property_types"
ATTACHMENT_COUNT = "attachment_property_num_attachments"
ATTRIBUTES = (LABELS, ATTACHMENT_TYPES, ATTACHMENT_COUNT)

# Query orders that name a label of the dataset (contract §9.1, §20).
LABEL_ORDERS = ("by_label", "teach", "check", "missed")

# --- identifiers ------------------------------------------------------------------
INT32_MAX = 2**31 - 1
_WHITESPACE = re.compile(r"\s")


def comment_id_problem(value: str) -> str | None:
    """Why a comment id is unacceptable, or None when it is fine."""
    if not value:
        return "Must not be empty."
    if len(value) > 1024:
        return "Longer than 1024 characters."
    if _WHITESPACE.search(value):
        return "Must not contain whitespace."
    return None


def comment_uid(source_id: str, external_id: str) -> str:
    """A comment's uid, `<source_id>.<comment_id>` (contract §6.1)."""
    return f"{source_id}.{external_id}"


def parse_uid(uid: str) -> tuple[str, str]:
    """`<source_id>.<comment_id>`, split at the first dot (comment ids may hold dots)."""
    source_id, sep, external_id = uid.partition(".")
    if not sep or not source_id or not external_id:
        raise InvalidInput(f"'{uid}' is not a comment uid of the form <source_id>.<comment_id>.")
    return source_id, external_id


def id_number(text: str) -> int | None:
    """A path segment as a stored integer id or version, or None when it cannot
    be one (not ASCII digits, or beyond the column): such ids are simply unknown."""
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= INT32_MAX:
        return int(text)
    return None
