"""The official client's serialization of comments, labellings, entities and
forms: what `re get comments` writes (see the package's docstring)."""
from __future__ import annotations

from datetime import datetime, timezone

from ...models.datasets import DEFAULT_GROUP
from ...vocabulary import LABEL_SEPARATOR, comment_uid
from ...wire import parse_datetime


def client_datetime(value: datetime) -> str:
    """chrono's RFC 3339 for DateTime<Utc>: `Z`, and 0, 3 or 6 fraction digits."""
    value = value.astimezone(timezone.utc)
    text = value.replace(microsecond=0, tzinfo=None).isoformat()
    micro = value.microsecond
    if micro == 0:
        return text + "Z"
    if micro % 1000 == 0:
        return f"{text}.{micro // 1000:03d}Z"
    return f"{text}.{micro:06d}Z"


def _sorted_json(value):
    """serde_json's Value keeps object keys in a BTreeMap: sorted, at every level."""
    if isinstance(value, dict):
        return {k: _sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value


def _present(source: dict, out: dict, keys, transform=None) -> None:
    """Copy optional keys (serde `Option`, skipped when None) in the struct's order."""
    for key in keys:
        value = source.get(key)
        if value is not None:
            out[key] = transform(value) if transform else value


def _client_text(part: dict, with_markup: bool) -> dict:
    out = {"text": part["text"]}
    _present(part, out, ("translated_from",))
    if with_markup:
        _present(part, out, ("text_markup", "translated_from_markup"), _sorted_json)
    return out


def _client_message(message: dict) -> dict:
    out = {"body": _client_text(message["body"], True)}
    _present(message, out, ("language",))
    if message.get("subject") is not None:
        out["subject"] = _client_text(message["subject"], False)
    if message.get("signature") is not None:
        out["signature"] = _client_text(message["signature"], True)
    _present(message, out, ("from", "to", "cc", "bcc"))
    if message.get("sent_at") is not None:
        out["sent_at"] = client_datetime(parse_datetime(message["sent_at"]))
    return out


def _client_properties(properties: dict) -> dict:
    """Numbers as floats (`7.0`); blank strings dropped, as the client's PropertyMap does."""
    out = {}
    for key, value in properties.items():
        if key.startswith("number:"):
            out[key] = float(value)
        elif isinstance(value, str) and value.strip():
            out[key] = value
    return out


def _client_attachment(attachment: dict) -> dict:
    out = {"name": attachment["name"], "size": attachment["size"],
           "content_type": attachment["content_type"]}
    _present(attachment, out, ("attachment_reference", "content_hash"))
    return out


def client_comment(row, has_annotations: bool) -> dict:
    """The client's `Comment` struct, from a comment row."""
    out = {"id": row.external_id, "uid": comment_uid(row.source_id, row.external_id)}
    if row.thread_id is not None:
        out["thread_id"] = row.thread_id
    out["timestamp"] = client_datetime(row.timestamp)
    out["messages"] = [_client_message(m) for m in row.messages]
    properties = _client_properties(row.user_properties or {})
    if properties:
        out["user_properties"] = properties
    if row.attachments:
        out["attachments"] = [_client_attachment(a) for a in row.attachments]
    out["created_at"] = client_datetime(row.created_at)
    out["has_annotations"] = has_annotations
    return out


def _client_label(label: dict) -> dict:
    out = {"name": label["name"], "sentiment": label["sentiment"]}
    if label.get("metadata") is not None:
        out["metadata"] = _sorted_json(label["metadata"])
    return out


def _client_predicted(label: dict, with_sentiment: bool) -> dict:
    out = {"name": label["name"].split(LABEL_SEPARATOR)}
    if with_sentiment and label.get("sentiment") is not None:
        out["sentiment"] = float(label["sentiment"])
    out["probability"] = float(label["probability"])
    return out


def client_labelling(stored: list | None, predicted: list | None, with_sentiment: bool) -> list | None:
    """`labelling`, or None where the client skips it: when the default group has
    nothing assigned, dismissed or predicted (whatever the other groups hold)."""
    groups = []
    for entry in stored or []:
        group = {"group": entry["group"]}
        for key in ("assigned", "dismissed"):
            labels = entry.get(key) or []
            if labels:
                group[key] = [_client_label(label) for label in labels]
        groups.append(group)
    if predicted:
        default = next((g for g in groups if g["group"] == DEFAULT_GROUP), None)
        if default is None:
            default = {"group": DEFAULT_GROUP}
            groups.insert(0, default)
        default["predicted"] = [_client_predicted(label, with_sentiment) for label in predicted]
    default = next((g for g in groups if g["group"] == DEFAULT_GROUP), None)
    if default is None or len(default) == 1:
        return None
    return groups


SPAN_KEYS = ("content_part", "message_index", "char_start", "char_end", "utf16_byte_start", "utf16_byte_end")


def _client_entity(entity: dict) -> dict:
    spans = entity.get("spans")
    if spans is None and entity.get("span") is not None:
        spans = [entity["span"]]
    out = {"name": entity.get("name"), "formatted_value": entity.get("formatted_value"),
           "spans": [{k: span[k] for k in SPAN_KEYS if k in span} for span in spans or []]}
    _present(entity, out, ("field_id",))
    return out


def client_entities(stored: dict | None) -> dict | None:
    if not stored:
        return None
    out = {}
    for key in ("assigned", "dismissed"):
        if stored.get(key):
            out[key] = [_client_entity(e) for e in stored[key]]
    return out or None


def client_moon_forms(stored: list | None) -> list | None:
    if not stored:
        return None
    return [{"group": form.get("group"), "assigned": form.get("assigned") or [],
             "dismissed": form.get("dismissed") or []} for form in stored]
