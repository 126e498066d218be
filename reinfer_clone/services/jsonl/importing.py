"""JSONL import: what `re create comments` reads, in batches of one transaction
each, resumable from `<input>.import-state`."""
from __future__ import annotations

import hashlib
import os
from typing import Iterator

import orjson
from marshmallow import ValidationError, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import InvalidInput, ServiceError
from ...models import Comment, Source
from ...models.datasets import DEFAULT_GROUP
from ...schemas.comments import MAX_BATCH, parse_comments
from ...schemas.fields import Schema, describe
from ...schemas.labellings import Entities, GroupLabelling, Label
from ...vocabulary import comment_uid
from .. import comments as comments_service
from .. import datasets as datasets_service
from .. import labellings as labellings_service
from .. import sources as sources_service
from .state import (CHECKSUM_WINDOW, IMPORT_STATE_SUFFIX, STATE_VERSION, OnStart, Progress, load_state,
                    remove_state, save_state)


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
    """One transaction for the batch's comments and labellings (the services only
    flush), so the batch lands whole or not at all."""
    with Session(bind=engine, expire_on_commit=False) as session, session.begin():
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
    state = None if restart else load_state(state_path)
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
            save_state(state_path, state)
            if progress:
                progress(done)
    remove_state(state_path)
    return state["totals"]
