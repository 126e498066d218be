"""The wire format both the api and the services write: datetimes as RFC 3339
in UTC, and the Comment object of contract §6.1.

Below the services and beside nothing Flask: services that stream comments
(export, streams, labellings) and the schemas use the same functions.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from .vocabulary import comment_uid

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?$"
)


def parse_datetime(value: str) -> datetime:
    """RFC 3339 with an offset, 0 to 9 fractional digits. Raises ValueError."""
    # A '+' in a query string arrives decoded as a space.
    value = value.strip()
    if re.match(r".*\d \d{2}:\d{2}$", value):
        value = value[:-6] + "+" + value[-5:]
    match = _RFC3339.match(value)
    if not match:
        raise ValueError(f"'{value}' is not an RFC 3339 datetime.")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset is None:
        raise ValueError(
            f"'{value}' has no timezone offset; send UTC as 'Z' or an offset like '+01:00'."
        )
    micro = int((fraction or "0").ljust(6, "0")[:6])
    iso_offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(
            f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micro:06d}{iso_offset}"
        ).astimezone(timezone.utc)
    except OverflowError:
        # 9999-12-31T23:59:59-10:00 is in year 10000 in UTC, where every datetime is stored.
        raise ValueError(
            f"'{value}' is out of range: in UTC it must fall between 0001-01-01 and 9999-12-31."
        ) from None


def format_datetime(value: datetime) -> str:
    # isoformat() is several times faster than strftime on export pages.
    offset = value.utcoffset()
    if offset is None:  # naive: UTC already (the database layer never returns one)
        return value.isoformat() + "Z"
    if offset:
        value = value.astimezone(timezone.utc)
    return value.isoformat()[:-6] + "Z"  # "+00:00" -> "Z"


def dump_comment(comment, include_markup: bool = False, has_annotations: bool = False,
                 stored_attachments: set[int] | None = None) -> dict:
    """The Comment object of contract §6.1, from a Comment or a row with its columns.

    Written by hand because export pages dump 256 at a time; optional parts are
    omitted when empty, as the client itself writes them. Attachments whose
    bytes were uploaded (`stored_attachments`: their indexes) get an
    `attachment_reference` the download route answers.
    """
    out = {
        "id": comment.external_id,
        "uid": comment_uid(comment.source_id, comment.external_id),
        "source_id": comment.source_id,
        "timestamp": format_datetime(comment.timestamp),
        "messages": comment.messages if include_markup else strip_markup(comment.messages),
        "created_at": format_datetime(comment.created_at),
        "last_modified": format_datetime(comment.last_modified),
        "has_annotations": has_annotations,
        "text_format": "plain",
    }
    if comment.thread_id is not None:
        out["thread_id"] = comment.thread_id
    if comment.user_properties:
        out["user_properties"] = comment.user_properties
    if comment.attachments:
        out["attachments"] = comment.attachments
        if stored_attachments:
            out["attachments"] = [
                {"attachment_reference": f"{comment_uid(comment.source_id, comment.external_id)}.{i}", **entry}
                if i in stored_attachments and "attachment_reference" not in entry else entry
                for i, entry in enumerate(comment.attachments)
            ]
    return out


MARKUP_KEYS = ("text_markup", "translated_from_markup")


def strip_markup(messages: list) -> list:
    """Messages without markup (a copy: stored JSON is never mutated)."""
    out = []
    for message in messages:
        message = dict(message)
        for part in ("body", "subject", "signature"):
            value = message.get(part)
            if isinstance(value, dict) and any(k in value for k in MARKUP_KEYS):
                message[part] = {k: v for k, v in value.items() if k not in MARKUP_KEYS}
        out.append(message)
    return out
