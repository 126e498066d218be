"""JSONL export and import (contract §15), straight on the database.

Export writes the lines the official client's `re get comments S --dataset D`
writes: the client re-serializes what it received through its own structs, so
fields it does not model are dropped, its skip rules apply, and objects keep its
field order. Import reads what `re create comments` reads.

Both stream (one page or batch in memory) and both resume after an interruption
from a small JSON sidecar file:

* export: `<output>.partial` holds the keyset position of the last page written
  and the byte length of the output at that point; a rerun truncates whatever
  was written after it (a torn last line included) and continues.
* import: `<input>.import-state` (or `--state`) holds the byte offset just past
  the last committed batch; a rerun seeks there.
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from typing import Callable, Iterator

import orjson
from marshmallow import ValidationError, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, ServiceError
from ..models import Comment, Dataset, Source
from ..models.datasets import DEFAULT_GROUP
from ..schemas.comments import MAX_BATCH, parse_comments
from ..schemas.fields import Schema, describe
from ..wire import format_datetime, parse_datetime
from ..schemas.labellings import Entities, GroupLabelling, Label
from . import comments as comments_service
from . import datasets as datasets_service
from . import labellings as labellings_service
from . import sources as sources_service
from ..vocabulary import LABEL_SEPARATOR, comment_uid

STATE_VERSION = 1
EXPORT_PAGE = 256
EXPORT_STATE_SUFFIX = ".partial"
IMPORT_STATE_SUFFIX = ".import-state"
# How much of the input before the resume offset must be unchanged for a resume.
CHECKSUM_WINDOW = 64 * 1024

Progress = Callable[[int], None]
OnStart = Callable[[int, int], None]  # (total, already done)


# --- sidecar state ---------------------------------------------------------------------

def _load_state(path: str) -> dict | None:
    try:
        with open(path, "rb") as f:
            state = orjson.loads(f.read())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError:
        raise InvalidInput(f"{path} is not a state file of this tool; delete it or use --restart.") from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise InvalidInput(f"{path} is not a state file of this tool; delete it or use --restart.")
    return state


def _save_state(path: str, state: dict) -> None:
    # Write-then-rename, so an interruption leaves the old state or the new one.
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(orjson.dumps(state))
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# --- the client's serialization --------------------------------------------------------

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


def _lines(session: Session, dataset: Dataset, rows, with_predictions: bool) -> list[dict]:
    annotations, reviewed, predicted = labellings_service.page_annotations(
        session, dataset, [row.pk for row in rows], with_predictions)
    out = []
    for row in rows:
        annotation = annotations.get(row.pk)
        line = {"comment": client_comment(row, row.pk in reviewed)}
        labelling = client_labelling(annotation.labelling if annotation else None,
                                     predicted.get(row.pk), dataset.has_sentiment)
        if labelling is not None:
            line["labelling"] = labelling
        if annotation is not None:
            entities = client_entities(annotation.entities)
            if entities is not None:
                line["entities"] = entities
            moon_forms = client_moon_forms(annotation.moon_forms)
            if moon_forms is not None:
                line["moon_forms"] = moon_forms
        out.append(line)
    return out


# --- export ----------------------------------------------------------------------------

def _chosen_sources(session: Session, dataset: Dataset, wanted) -> list[Source]:
    """The dataset's sources in its order, or those named (by id, `project/name` or
    bare name) in the order given."""
    members = [sources_service.get_by_id(session, source_id) for source_id in dataset.source_ids]
    if not wanted:
        return members
    chosen = []
    for ref in wanted:
        matches = [s for s in members if ref in (s.id, f"{s.owner}/{s.name}", s.name)]
        if not matches:
            raise InvalidInput(f"--source: '{ref}' is not a source of dataset "
                               f"'{dataset.owner}/{dataset.name}'.", field="source")
        if len(matches) > 1:
            raise InvalidInput(f"--source: '{ref}' names several sources of the dataset; "
                               "give PROJECT/NAME or the id.", field="source")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return chosen


def export_jsonl(
    session: Session, project: str, dataset_name: str, path: str, *,
    predictions: bool = False, sources=(), minimum: datetime | None = None,
    maximum: datetime | None = None, restart: bool = False, page_size: int | None = None,
    progress: Progress | None = None, on_start: OnStart | None = None,
) -> int:
    """Write the dataset's comments (source by source, each in (timestamp, id)
    order) to `path`, one line each; returns how many lines the file holds."""
    page_size = page_size or EXPORT_PAGE
    dataset = datasets_service.get_by_name(session, project, dataset_name)
    chosen = _chosen_sources(session, dataset, sources)
    options = {
        "dataset_id": dataset.id, "source_ids": [s.id for s in chosen], "predictions": predictions,
        "from": format_datetime(minimum) if minimum else None,
        "to": format_datetime(maximum) if maximum else None,
    }
    state_path = path + EXPORT_STATE_SUFFIX
    state = None if restart else _load_state(state_path)
    if state is not None and state.get("options") != options:
        raise InvalidInput(f"{state_path} belongs to an interrupted export with other options; "
                           "rerun that export to finish it, or pass --restart to start over.")
    if on_start:
        total = sum(sources_service.count_comments(session, s, minimum, maximum) for s in chosen)
        on_start(total, state["lines"] if state else 0)
    if state is None:
        state = {"version": STATE_VERSION, "options": options, "source": 0, "after": None,
                 "bytes": 0, "lines": 0}
        _save_state(state_path, state)
    with open(path, "r+b" if os.path.exists(path) else "w+b") as f:
        if f.seek(0, os.SEEK_END) < state["bytes"]:
            raise InvalidInput(f"{path} is shorter than {state_path} says it was; "
                               "pass --restart to start over.")
        # Drop what was written after the last recorded page, a torn line included.
        f.truncate(state["bytes"])
        f.seek(state["bytes"])
        while state["source"] < len(chosen):
            source = chosen[state["source"]]
            rows, after = comments_service.iterate(session, source, page_size, minimum, maximum,
                                                   state["after"])
            if rows:
                data = b"".join(orjson.dumps(line) + b"\n"
                                for line in _lines(session, dataset, rows, predictions))
                f.write(data)
                f.flush()
                # On disk before the state says so: a resume never trusts unwritten bytes.
                os.fsync(f.fileno())
                state["bytes"] += len(data)
                state["lines"] += len(rows)
            if after:
                state["after"] = after
            else:
                state["source"] += 1
                state["after"] = None
            _save_state(state_path, state)
            if progress and rows:
                progress(len(rows))
    _remove(state_path)
    return state["lines"]


# --- import ----------------------------------------------------------------------------

class _LegacyLabelling(Schema):
    assigned = fields.List(fields.Nested(Label))
    dismissed = fields.List(fields.Nested(Label))


class _Annotations(Schema):
    entities = fields.Nested(Entities, allow_none=True)
    moon_forms = fields.List(fields.Dict(), allow_none=True)


_groups_schema = GroupLabelling(many=True)
_legacy_schema = _LegacyLabelling()
_annotations_schema = _Annotations()


def _line_error(line_no: int, error: ValidationError) -> InvalidInput:
    return InvalidInput(f"Line {line_no}: {describe(error)}")


def _parse_annotations(line_no: int, line: dict) -> dict:
    """`labelling` (groups, or the legacy object meaning group default), `entities`,
    `moon_forms`, loaded like a labelling request; `predicted` parts are dropped."""
    try:
        parsed = _annotations_schema.load(
            {k: line[k] for k in ("entities", "moon_forms") if k in line})
        labelling = line.get("labelling")
        try:
            if isinstance(labelling, list):
                parsed["labelling"] = _groups_schema.load(labelling)
            elif isinstance(labelling, dict):
                parsed["labelling"] = [{"group": DEFAULT_GROUP, **_legacy_schema.load(labelling)}]
            elif labelling is not None:
                raise ValidationError(["Not a valid list of groups or labelling object."])
        except ValidationError as error:
            raise ValidationError({"labelling": error.messages}) from None
    except ValidationError as error:
        raise _line_error(line_no, error) from None
    return parsed


def _has_annotations(parsed: dict) -> bool:
    """The client's rule for which lines it posts a labelling for."""
    groups = any("assigned" in g or "dismissed" in g for g in parsed.get("labelling") or [])
    entities = parsed.get("entities") or {}
    forms = any(form.get("assigned") for form in parsed.get("moon_forms") or [])
    return groups or bool(entities.get("assigned") or entities.get("dismissed")) or forms


def _read_lines(f, first_line: int) -> Iterator[tuple[int, bytes, int]]:
    """(line number, text, offset after it), reading one line at a time."""
    line_no = first_line
    while True:
        raw = f.readline()
        if not raw:
            return
        line_no += 1
        yield line_no, raw, f.tell()


def _batches(f, first_line: int, batch_size: int):
    """Lists of (line number, parsed object), each with the offset and the line
    number just past it."""
    batch, pending, end, last = [], False, 0, first_line
    for line_no, raw, end in _read_lines(f, first_line):
        last, pending = line_no, True
        if not raw.strip():
            continue  # blank lines (a trailing one, say) carry nothing
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise InvalidInput(f"Line {line_no}: not valid JSON ({error}).") from None
        if not isinstance(line, dict):
            raise InvalidInput(f"Line {line_no}: must be a JSON object.")
        if "comment" not in line:
            raise InvalidInput(f"Line {line_no}: comment: Missing data for required field.")
        batch.append((line_no, line))
        if len(batch) >= batch_size:
            yield batch, end, last
            batch, pending = [], False
    if pending:
        yield batch, end, last


def _parse_batch(batch, with_annotations: bool):
    try:
        records = parse_comments([line["comment"] for _, line in batch])
    except ValidationError as error:
        first = min(error.messages["comments"])
        line_no = batch[first][0]
        raise _line_error(line_no, ValidationError({"comment": error.messages["comments"][first]})) from None
    annotations = []
    if with_annotations:
        for (line_no, line), record in zip(batch, records):
            parsed = _parse_annotations(line_no, line)
            if _has_annotations(parsed):
                annotations.append((line_no, record["external_id"], parsed))
    return records, annotations


def _store_comments(session: Session, source: Source, records: list[dict], overwrite: bool) -> dict:
    if overwrite:
        return comments_service.sync(session, source, records)
    # Create-only: ids already stored (or seen earlier in the batch) are skipped.
    stored = set(session.scalars(select(Comment.external_id).where(
        Comment.source_id == source.id,
        Comment.external_id.in_({r["external_id"] for r in records}))))
    new: dict[str, dict] = {}
    for record in records:
        if record["external_id"] not in stored:
            new.setdefault(record["external_id"], record)
    if new:
        comments_service.upload(session, source, list(new.values()))
    return {"new": len(new), "skipped": len(records) - len(new)}


def _write_batch(engine, source_id: str, dataset_id: str | None, records, annotations,
                 overwrite: bool) -> dict:
    """One transaction for the batch's comments and labellings. The services commit
    as they go; a session joined to an outer transaction with `rollback_only` turns
    those commits into flushes, so the batch lands whole or not at all."""
    with engine.connect() as connection, connection.begin():
        with Session(bind=connection, join_transaction_mode="rollback_only",
                     expire_on_commit=False) as session:
            source = sources_service.get_by_id(session, source_id)
            counts = _store_comments(session, source, records, overwrite)
            if annotations:
                dataset = datasets_service.get_by_id(session, dataset_id)
                for line_no, external_id, parsed in annotations:
                    try:
                        labellings_service.write(session, dataset, comment_uid(source_id, external_id),
                                                 parsed.get("labelling"), parsed.get("entities"),
                                                 parsed.get("moon_forms"))
                    except ServiceError as error:
                        raise type(error)(f"Line {line_no}: labelling: {error.message}",
                                          **error.extra) from None
    counts["annotated"] = len(annotations)
    return counts


def _checksum(f, offset: int) -> str:
    start = max(0, offset - CHECKSUM_WINDOW)
    f.seek(start)
    digest = hashlib.sha256(f.read(offset - start)).hexdigest()
    f.seek(offset)
    return digest


def import_jsonl(
    session: Session, project: str, source_name: str, path: str, *,
    dataset_ref: tuple[str, str] | None = None, overwrite: bool = False,
    batch_size: int = 128, state_path: str | None = None, restart: bool = False,
    progress: Progress | None = None, on_start: OnStart | None = None,
) -> dict[str, int]:
    """Upload the comments of a JSONL file to a source and, with a dataset, their
    labellings. Without `overwrite`, ids already stored are skipped; with it, they
    are synced. `audio_path` is ignored (audio is not stored by this server)."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise InvalidInput(f"--batch-size: must be between 1 and {MAX_BATCH}.", field="batch_size")
    source = sources_service.get_by_name(session, project, source_name)
    dataset = datasets_service.get_by_name(session, *dataset_ref) if dataset_ref else None
    if dataset is not None and source.id not in dataset.source_ids:
        raise InvalidInput(f"--dataset: dataset '{dataset.owner}/{dataset.name}' does not contain "
                           f"source '{source.owner}/{source.name}'; add the source to it first.",
                           field="dataset")
    source_id, dataset_id = source.id, dataset.id if dataset else None
    # The batches run in transactions of their own; end this one's read snapshot.
    session.rollback()
    state_path = state_path or path + IMPORT_STATE_SUFFIX
    options = {"source_id": source_id, "dataset_id": dataset_id, "overwrite": overwrite}
    state = None if restart else _load_state(state_path)
    if state is not None and state.get("options") != options:
        raise InvalidInput(f"{state_path} belongs to an interrupted import with other options; "
                           "rerun that import to finish it, or pass --restart to start over.")
    if state is None:
        state = {"version": STATE_VERSION, "options": options, "offset": 0, "line": 0, "checksum": "",
                 "totals": {"new": 0, "updated": 0, "unchanged": 0, "skipped": 0, "annotated": 0}}
    engine = session.get_bind()
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        if state["offset"] and (size < state["offset"]
                                or _checksum(f, state["offset"]) != state["checksum"]):
            raise InvalidInput(f"{path} changed before the point {state_path} records; "
                               "pass --restart to import it from the start.")
        f.seek(state["offset"])
        if on_start:
            on_start(size, state["offset"])
        for batch, end, last in _batches(f, state["line"], batch_size):
            records, annotations = _parse_batch(batch, dataset_id is not None)
            if records:
                counts = _write_batch(engine, source_id, dataset_id, records, annotations, overwrite)
                for key, value in counts.items():
                    state["totals"][key] += value
            done = end - state["offset"]
            state.update(offset=end, line=last, checksum=_checksum(f, end))
            _save_state(state_path, state)
            if progress:
                progress(done)
    _remove(state_path)
    return state["totals"]
