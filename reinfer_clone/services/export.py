"""Paged dataset export (contract §7.9): comments with their assigned labels and,
once models exist, predictions."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import and_, bindparam, exists, or_, select, tuple_
from sqlalchemy import union_all
from sqlalchemy.orm import Session, aliased

from .. import pagination
from ..errors import InvalidInput, TooLarge
from ..models import Labelling, Comment, Dataset
from ..wire import dump_comment
from .labellings import assigned_with_parents
from ..vocabulary import parse_uid
from .model_versions import latest_version
from .predictions import SCORE_CELLS, predicted_labels

MAX_LIMIT = 256
MAX_UIDS = 256
MAX_SOURCES = 1024
ORDER_FIELDS = {"timestamp": Comment.timestamp, "created_at": Comment.created_at}


def _page_select():
    """Comment rows (plain rows: a page is read-only) with, in the same query,
    the dataset's labelling and whether any dataset reviewed the comment.
    Binds `dataset_id`. Predictions are read apart, a chunk at a time
    (`_items`): a page of a many-label model decoded at once took gigabytes."""
    mine, reviewed = aliased(Labelling), aliased(Labelling)
    columns = [
        *Comment.__table__.columns,
        mine.labelling,
        exists().where(reviewed.comment_pk == Comment.pk, reviewed.reviewed.is_(True)).label("has_annotations"),
    ]
    return select(*columns).select_from(Comment).outerjoin(
        mine, and_(mine.dataset_id == bindparam("dataset_id"), mine.comment_pk == Comment.pk))


# Above this many sources one statement per source costs more than a sort.
MAX_MERGED_SOURCES = 32
_STAMP, _AFTER_ID = bindparam("stamp", type_=Comment.timestamp.type), bindparam("after_id")
_MINIMUM, _MAXIMUM = bindparam("minimum", type_=Comment.timestamp.type), bindparam("maximum", type_=Comment.timestamp.type)


@lru_cache(maxsize=256)
def _timestamp_page(branches: tuple, has_min: bool, has_max: bool):
    """The statement for one export page in (timestamp, source_id, external_id)
    order. Building it costs more than running it, so it is cached by shape.

    `branches` holds (source ids, relation to the cursor) pairs. A branch for
    one source reads along its (source_id, timestamp, external_id) index and
    stops at the page size, so every page costs the same, first or last, and
    whatever the table's statistics say. The keyset condition is split per
    source: a source after the cursor's may repeat the cursor's timestamp
    ("ge"), one before it may not ("gt"), and the cursor's own continues
    after the cursor's id ("id"). A single branch of many sources ("all")
    compares the whole key instead.
    """
    def branch(source_ids, relation):
        if len(source_ids) == 1:
            query = select(Comment.pk).where(Comment.source_id == source_ids[0])
            order = (Comment.timestamp, Comment.external_id)
        else:
            query = select(Comment.pk).where(Comment.source_id.in_(source_ids))
            order = (Comment.timestamp, Comment.source_id, Comment.external_id)
        if has_min:
            query = query.where(Comment.timestamp >= _MINIMUM)
        if has_max:
            query = query.where(Comment.timestamp <= _MAXIMUM)
        if relation == "ge":
            query = query.where(Comment.timestamp >= _STAMP)
        elif relation == "gt":
            query = query.where(Comment.timestamp > _STAMP)
        elif relation == "id":
            query = query.where(tuple_(Comment.timestamp, Comment.external_id) > tuple_(_STAMP, _AFTER_ID))
        elif relation == "all":
            query = query.where(tuple_(Comment.timestamp, Comment.source_id, Comment.external_id)
                                > tuple_(_STAMP, bindparam("after_source"), _AFTER_ID))
        return query.order_by(*order).limit(bindparam("limit"))

    # Wrapped as subqueries: SQLite allows no ORDER BY/LIMIT on a bare UNION member.
    parts = [select(branch(list(ids), relation).subquery().c.pk) for ids, relation in branches]
    page = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("page")
    return (_page_select().join(page, page.c.pk == Comment.pk)
            .order_by(Comment.timestamp, Comment.source_id, Comment.external_id)
            .limit(bindparam("limit")))


def _branches(source_ids: list[str], position) -> tuple:
    ordered = sorted(set(source_ids))
    if len(ordered) > MAX_MERGED_SOURCES:
        return ((tuple(ordered), "all" if position else None),)
    if position is None:
        return tuple(((s,), None) for s in ordered)
    after_source = position[1]
    return tuple(((s,), "ge" if s > after_source else "gt" if s < after_source else "id") for s in ordered)


def _by_key(query, column):
    """A page in (column, comment pk) order: `created_at` pages and uid lookups."""
    return query.order_by(column, Comment.pk).limit(bindparam("limit"))


def export_page(
    session: Session,
    dataset: Dataset,
    comment_uids: list[str] | None = None,
    source_ids: list[str] | None = None,
    order_by: str = "timestamp",
    minimum: datetime | None = None,
    maximum: datetime | None = None,
    continuation: str | None = None,
    limit: int = 64,
    max_predicted_labels: int | None = None,
):
    """One page: (items, continuation), the items an iterator for the caller to
    encode as they come. Every comment carries every label of the latest model,
    so the page shrinks to at most `max_predicted_labels` of them (the
    continuation leads to the rest); a `comment_uids` lookup, which has no
    continuation, is refused (413) beyond it."""
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit: must be between 1 and {MAX_LIMIT}.", field="limit")
    dataset_sources = dataset.source_ids
    column = ORDER_FIELDS[order_by]
    model = latest_version(session, dataset.id)
    labels = len(model.label_names) if model is not None else 0
    if max_predicted_labels and labels:
        limit = min(limit, max(1, max_predicted_labels // labels))
    params = {"dataset_id": dataset.id, "limit": limit + 1}
    if comment_uids is not None:
        if source_ids is not None or minimum or maximum or continuation:
            raise InvalidInput("comment_uids: no other filter may be given with comment_uids.",
                               field="comment_uids")
        if len(comment_uids) > MAX_UIDS:
            raise InvalidInput(f"comment_uids: at most {MAX_UIDS} uids.", field="comment_uids")
        pairs = [parse_uid(uid) for uid in comment_uids]
        pairs = [p for p in pairs if p[0] in dataset_sources]
        if not pairs:
            return [], None
        if max_predicted_labels and len(set(pairs)) * labels > max_predicted_labels:
            raise TooLarge(f"The answer would hold more than {max_predicted_labels} predicted labels "
                           f"(REINFER_CLONE_MAX_PREDICTED_LABELS): {len(set(pairs))} comments x {labels} "
                           f"labels of model version {model.version}. Send fewer comment_uids.",
                           limit="REINFER_CLONE_MAX_PREDICTED_LABELS")
        query = _by_key(_page_select().where(or_(*[
            (Comment.source_id == s) & (Comment.external_id == e) for s, e in pairs
        ])), column)
    else:
        if source_ids is not None:
            if len(source_ids) > MAX_SOURCES:
                raise InvalidInput(f"source_ids: at most {MAX_SOURCES} ids.", field="source_ids")
            strangers = [s for s in source_ids if s not in dataset_sources]
            if strangers:
                raise InvalidInput(f"source_ids: '{strangers[0]}' is not a source of this dataset.",
                                   field="source_ids")
        wanted = source_ids if source_ids else dataset_sources
        if not wanted:
            return [], None
        if order_by == "timestamp":
            position = pagination.decode("export-timestamp-v2", continuation) if continuation else None
            if position:
                params.update(stamp=datetime.fromisoformat(position[0]), after_source=position[1],
                              after_id=position[2])
            params.update(minimum=minimum, maximum=maximum)
            query = _timestamp_page(_branches(wanted, position), minimum is not None, maximum is not None)
        else:
            query = _page_select().where(Comment.source_id.in_(wanted))
            if minimum is not None:
                query = query.where(column >= minimum)
            if maximum is not None:
                query = query.where(column <= maximum)
            if continuation:
                stamp, pk = pagination.decode(f"export-{order_by}", continuation)
                query = query.where(tuple_(column, Comment.pk) > (datetime.fromisoformat(stamp), pk))
            query = _by_key(query, column)
    comments = list(session.execute(query, params))
    more = len(comments) > limit and comment_uids is None
    comments = comments[:limit]
    items = _items(session, dataset, model, comments)
    if not more:
        return items, None
    last = comments[-1]
    if order_by == "timestamp":
        return items, pagination.encode(
            "export-timestamp-v2", [last.timestamp.isoformat(), last.source_id, last.external_id])
    return items, pagination.encode(f"export-{order_by}", [getattr(last, order_by).isoformat(), last.pk])


def _items(session: Session, dataset: Dataset, model, comments):
    """The page's items, predictions read (and scored where missing) a chunk of
    at most SCORE_CELLS predicted labels at a time."""
    size = max(1, SCORE_CELLS // len(model.label_names)) if model is not None and model.label_names else 1024
    for start in range(0, len(comments), size):
        chunk = comments[start:start + size]
        predicted = predicted_labels(session, dataset, [c.pk for c in chunk], model) if model is not None else {}
        for c in chunk:
            yield {
                "comment": dump_comment(c, True, c.has_annotations),
                "annotations": {"labels": {"assigned": assigned_with_parents(c)}},
                "predictions": {"labels": predicted.get(c.pk, [])},
            }
