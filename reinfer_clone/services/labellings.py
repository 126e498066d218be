"""Annotations: labels assigned or dismissed on a comment within a dataset."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import pagination
from ..db import utcnow
from ..errors import InvalidInput, NotFound
from ..models import Labelling, Comment, Dataset
from ..wire import dump_comment
from ..models.datasets import DEFAULT_GROUP
from . import attachments as attachments_service
from ..vocabulary import LABEL_SEPARATOR, parse_uid
from . import datasets as datasets_service
from . import predictions
from .model_versions import latest_version

MAX_UIDS = 1024
MAX_BULK = 1024


# A `>` that is not the separator " > ": `A>B` or `A >B` is one flat label.
_LOOSE_SEPARATOR = re.compile(r"(?<! )>|>(?! )")


def separator_hints(labelling: list[dict] | None) -> list[str]:
    """Warnings for label names that look like a hierarchy but are flat: they are
    stored as given (a name may contain `>`), so the writer is told, not corrected."""
    hints = []
    for group in labelling or ():
        names = [label["name"] for key in ("assigned", "dismissed") for label in group.get(key) or ()]
        for name in dict.fromkeys(names):
            if _LOOSE_SEPARATOR.search(name):
                suggested = LABEL_SEPARATOR.join(part.strip() for part in name.split(">"))
                hints.append(f"Label '{name}' is one flat label: the hierarchy separator is \" > \" "
                             f"(space, '>', space), as in '{suggested}'.")
    return hints


def source_in(dataset: Dataset, uid: str) -> str:
    """The id of the uid's source, which must be one of the dataset's (400 otherwise)."""
    source_id, _ = parse_uid(uid)
    if source_id not in dataset.source_ids:
        raise InvalidInput(f"Comment '{uid}' is not in a source of dataset '{dataset.owner}/{dataset.name}'.")
    return source_id


def _comment(session: Session, dataset: Dataset, uid: str) -> Comment:
    source_id = source_in(dataset, uid)
    _, external_id = parse_uid(uid)
    comment = session.scalar(
        select(Comment).where(Comment.source_id == source_id, Comment.external_id == external_id)
    )
    if comment is None:
        raise NotFound(f"Comment '{uid}' not found.")
    return comment


def is_reviewed(annotation: Labelling) -> bool:
    """Whether a labelling counts as reviewed: some group assigns or dismisses a
    label, or it holds entities or forms."""
    groups = any(g.get("assigned") or g.get("dismissed") for g in annotation.labelling or [])
    entities = bool(annotation.entities and (
        annotation.entities.get("assigned") or annotation.entities.get("dismissed")))
    forms = bool(annotation.moon_forms)
    return groups or entities or forms


def write(session: Session, dataset: Dataset, uid: str, labelling=None, entities=None,
          moon_forms=None, user_id: str | None = None) -> dict:
    """Replace the given groups (and entities, forms); absent keys keep what is stored.
    Unknown label names become label defs of their group, ancestors included.
    `user_id` (the writer) and the time are recorded as who labelled it last."""
    comment = _comment(session, dataset, uid)
    annotation = session.scalar(
        select(Labelling).where(Labelling.dataset_id == dataset.id, Labelling.comment_pk == comment.pk)
    )
    if annotation is None:
        annotation = Labelling(dataset_id=dataset.id, comment_pk=comment.pk,
                                source_id=comment.source_id, labelling=[])
        session.add(annotation)
    if labelling is not None:
        groups = {g["group"]: g for g in annotation.labelling or []}
        for given in labelling:
            assigned, dismissed = given.get("assigned", []), given.get("dismissed", [])
            groups[given["group"]] = {"group": given["group"], "assigned": assigned, "dismissed": dismissed}
            names = sorted({label["name"] for label in assigned + dismissed})
            if names and datasets_service.ensure_label_defs(session, dataset, given["group"], names):
                dataset.updated_at = utcnow()
        annotation.labelling = list(groups.values())
    if entities is not None:
        annotation.entities = entities
    if moon_forms is not None:
        annotation.moon_forms = moon_forms
    annotation.reviewed = is_reviewed(annotation)
    annotation.updated_at = utcnow()
    annotation.updated_by = user_id
    session.flush()
    return annotated(session, dataset, [comment])[0]


def annotations_for(session: Session, dataset_id: str, comment_pks) -> dict[int, Labelling]:
    rows = session.scalars(
        select(Labelling).where(Labelling.dataset_id == dataset_id, Labelling.comment_pk.in_(list(comment_pks)))
    )
    return {a.comment_pk: a for a in rows}


def annotated_pks(session: Session, comment_pks) -> set[int]:
    """Comments any dataset has reviewed: the Comment object's `has_annotations`."""
    return set(session.scalars(
        select(Labelling.comment_pk).where(
            Labelling.comment_pk.in_(list(comment_pks)), Labelling.reviewed.is_(True)
        )
    ))


def page_annotations(session: Session, dataset: Dataset, pks: list[int], with_predictions: bool,
                     model=None) -> tuple[dict[int, Labelling], set[int], dict[int, list[dict]]]:
    """For a page of comments: the dataset's annotations, the comments any
    dataset reviewed, and (when asked) the latest model's predictions."""
    annotations = annotations_for(session, dataset.id, pks)
    reviewed = annotated_pks(session, pks)
    predicted = predictions.predicted_labels(session, dataset, pks, model) if with_predictions else {}
    return annotations, reviewed, predicted


def iter_annotated(session: Session, dataset: Dataset, comments, include_markup: bool = True,
                   with_predictions: bool = False, model=None, attribution: bool = False):
    """`annotated`, produced a chunk at a time for the caller to encode as they
    come: with predictions, a chunk holds at most SCORE_CELLS predicted labels,
    so a page of a many-label model never has all its decoded predictions (and
    their copies) alive at once."""
    comments = list(comments)
    size = len(comments) or 1
    if with_predictions:
        model = model or latest_version(session, dataset.id)
        if model is not None and model.label_names:
            size = max(1, predictions.SCORE_CELLS // len(model.label_names))
    for start in range(0, len(comments), size):
        yield from annotated(session, dataset, comments[start:start + size], include_markup,
                             with_predictions, model, attribution)


def annotated(session: Session, dataset: Dataset, comments, include_markup: bool = True,
              with_predictions: bool = False, model=None, attribution: bool = False) -> list[dict]:
    """AnnotatedComment objects (contract §8.1) for comments, in the given order;
    with `with_predictions`, the labels of `model` (default the latest) in
    `labelling[].predicted`."""
    annotations, reviewed, predicted = page_annotations(
        session, dataset, [c.pk for c in comments], with_predictions, model)
    # As the comment routes do: attachments with uploaded bytes name their download.
    stored = attachments_service.stored_indexes(session, [c for c in comments if c.attachments])
    out = []
    for comment in comments:
        item = {"comment": dump_comment(comment, include_markup, comment.pk in reviewed,
                                        stored.get((comment.source_id, comment.external_id)))}
        annotation = annotations.get(comment.pk)
        if annotation is not None:
            if annotation.labelling:
                item["labelling"] = annotation.labelling
            if annotation.entities is not None:
                item["entities"] = annotation.entities
            if annotation.moon_forms is not None:
                item["moon_forms"] = annotation.moon_forms
            if attribution:
                # Extensions: who wrote the labelling last, and when.
                item["labelled_at"] = annotation.updated_at
                if annotation.updated_by is not None:
                    item["labelled_by"] = annotation.updated_by
        if comment.pk in predicted:
            add_predicted(item, predicted[comment.pk])
        out.append(item)
    return out


def add_predicted(item: dict, labels: list[dict], group: str = DEFAULT_GROUP) -> None:
    """Put predictions (stored form) into the group's labelling entry of an
    AnnotatedComment, creating the entry when the comment has no labels there."""
    # Copies: the lists and dicts here are the ORM's stored JSON.
    groups = item["labelling"] = list(item.get("labelling", []))
    for i, entry in enumerate(groups):
        if entry.get("group") == group:
            groups[i] = entry = dict(entry)
            break
    else:
        entry = {"group": group, "assigned": [], "dismissed": []}
        groups.append(entry)
    entry["predicted"] = [predictions.predicted_label(label) for label in labels]


def read_by_uids(session: Session, dataset: Dataset, uids: list[str]) -> list[dict]:
    """Comments in request order; unknown uids are left out."""
    if len(uids) > MAX_UIDS:
        raise InvalidInput(f"id: at most {MAX_UIDS} uids per request.", field="id")
    wanted = [parse_uid(uid) for uid in uids]
    found = {}
    for source_id in {s for s, _ in wanted}:
        if source_id not in dataset.source_ids:
            continue
        ids = [e for s, e in wanted if s == source_id]
        for comment in session.scalars(
            select(Comment).where(Comment.source_id == source_id, Comment.external_id.in_(ids))
        ):
            found[(source_id, comment.external_id)] = comment
    return annotated(session, dataset, [found[key] for key in wanted if key in found], attribution=True)


def read_reviewed(session: Session, dataset: Dataset, source_id: str, after: str | None,
                  limit: int, with_predictions: bool = False, max_predicted_labels: int | None = None):
    """Reviewed comments of one source, in a stable order, keyset-paged: (an
    iterator of items, the `after` cursor). With predictions the page shrinks
    to at most `max_predicted_labels` predicted labels; `after` leads on."""
    if source_id not in dataset.source_ids:
        raise InvalidInput(f"source_id: '{source_id}' is not a source of this dataset.", field="source_id")
    limit = max(1, min(limit, MAX_BULK))
    model = latest_version(session, dataset.id) if with_predictions else None
    if max_predicted_labels and model is not None and model.label_names:
        limit = min(limit, max(1, max_predicted_labels // len(model.label_names)))
    query = (
        select(Labelling.pk, Comment)
        .join(Comment, Comment.pk == Labelling.comment_pk)
        .where(Labelling.dataset_id == dataset.id, Labelling.source_id == source_id,
               Labelling.reviewed.is_(True))
    )
    if after:
        (last_pk,) = pagination.decode("labellings", after, field="after")
        query = query.where(Labelling.pk > last_pk)
    rows = session.execute(query.order_by(Labelling.pk).limit(limit)).all()
    if not rows:
        return [], None
    items = iter_annotated(session, dataset, [comment for _, comment in rows],
                           with_predictions=with_predictions, model=model, attribution=True)
    return items, pagination.encode("labellings", [rows[-1][0]])


def assigned_with_parents(annotation: Labelling | None, group: str = "default") -> list[dict]:
    """Assigned labels of a group with their implied ancestors, parents first."""
    if annotation is None:
        return []
    out, seen = [], set()
    for entry in annotation.labelling or []:
        if entry.get("group") != group:
            continue
        for label in entry.get("assigned", []):
            parts = label["name"].split(LABEL_SEPARATOR)
            for depth in range(1, len(parts) + 1):
                name = LABEL_SEPARATOR.join(parts[:depth])
                if name not in seen:
                    seen.add(name)
                    out.append({"name": name, "sentiment": label["sentiment"]})
    return out
