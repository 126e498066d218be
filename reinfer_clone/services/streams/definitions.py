"""Streams as stored objects: list, get, create, update, delete."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...db import utcnow
from ...errors import Conflict, InvalidInput, NotFound
from ...models import Dataset, Stream
from ...vocabulary import LABEL_SEPARATOR
from .. import comment_filter, model_versions, owned
from .arrivals import catch_up, last_number


def list_streams(session: Session, dataset: Dataset) -> list[Stream]:
    return list(session.scalars(select(Stream).where(Stream.dataset_id == dataset.id).order_by(Stream.name)))


def get(session: Session, dataset: Dataset, name: str) -> Stream:
    stream = session.scalar(select(Stream).where(Stream.dataset_id == dataset.id, Stream.name == name))
    if stream is None:
        raise NotFound(f"Stream '{dataset.owner}/{dataset.name}/{name}' not found.")
    return stream


def _checked_filter(dataset: Dataset, raw) -> dict:
    parsed = comment_filter.parse(raw, field="stream.comment_filter")
    parsed.source_ids(dataset.source_ids)  # every named source must be the dataset's
    return raw or {}


def _checked_model(session: Session, dataset: Dataset, model: dict | None) -> dict | None:
    if model is None:
        return None
    try:
        version = model_versions.resolve(session, dataset, str(model["version"]))
    except NotFound:
        raise InvalidInput(
            f"Invalid request: stream.model.version: the dataset has no trained model version "
            f"{model['version']}.", field="stream.model.version") from None
    known = set(version.label_names)
    for i, entry in enumerate(model["label_thresholds"]):
        name = LABEL_SEPARATOR.join(entry["name"])
        if name not in known:
            field = f"stream.model.label_thresholds.{i}.name"
            raise InvalidInput(f"Invalid request: {field}: '{name}' is not a label of model version "
                               f"{version.version}.", field=field)
    return {"version": version.version,
            "label_thresholds": [{"name": e["name"], "threshold": e["threshold"]}
                                 for e in model["label_thresholds"]]}


def create(session: Session, dataset: Dataset, fields: dict) -> Stream:
    name = fields["name"]
    if session.scalar(select(Stream.id).where(Stream.dataset_id == dataset.id, Stream.name == name)):
        raise Conflict(f"Stream '{dataset.owner}/{dataset.name}/{name}' already exists.")
    filter_ = _checked_filter(dataset, fields.get("comment_filter"))
    model = _checked_model(session, dataset, fields.get("model"))
    # A new stream starts now: after every comment there is.
    catch_up(session)
    now = utcnow()
    stream = Stream(
        dataset_id=dataset.id, name=name, title=fields.get("title") or "",
        description=fields.get("description") or "", comment_filter=filter_, model=model,
        position=last_number(session), created_at=now, updated_at=now,
    )
    session.add(stream)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"Stream '{dataset.owner}/{dataset.name}/{name}' already exists.") from None
    return stream


def update_stream(session: Session, dataset: Dataset, stream: Stream, fields: dict) -> Stream:
    """Only the given keys change; `model: null` removes the model."""
    changes = {}
    if "comment_filter" in fields:
        changes["comment_filter"] = _checked_filter(dataset, fields["comment_filter"])
    if "model" in fields:
        changes["model"] = _checked_model(session, dataset, fields["model"])
    for key in ("title", "description"):
        if key in fields:
            changes[key] = fields[key] or ""
    owned.apply_changes(stream, changes)
    session.flush()
    return stream


def delete(session: Session, stream: Stream) -> None:
    session.delete(stream)
    session.flush()
