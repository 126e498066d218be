"""Paged dataset export (contract §7.9): comments with their assigned labels and,
once models exist, predictions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from .. import pagination
from ..errors import InvalidInput
from ..models import Comment, Dataset
from ..schemas.comments import dump_comment
from .labellings import annotated_pks, annotations_for, assigned_with_parents, parse_uid
from .predictions import predicted_labels

MAX_LIMIT = 256
MAX_UIDS = 256
MAX_SOURCES = 1024
ORDER_FIELDS = {"timestamp": Comment.timestamp, "created_at": Comment.created_at}


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
) -> tuple[list[dict], str | None]:
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit: must be between 1 and {MAX_LIMIT}.", field="limit")
    dataset_sources = dataset.source_ids
    column = ORDER_FIELDS[order_by]
    # Plain rows, not ORM objects: an export page is read-only.
    query = select(*Comment.__table__.columns)
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
        query = query.where(or_(*[
            (Comment.source_id == s) & (Comment.external_id == e) for s, e in pairs
        ]))
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
        query = query.where(Comment.source_id.in_(wanted))
        if minimum is not None:
            query = query.where(column >= minimum)
        if maximum is not None:
            query = query.where(column <= maximum)
        if continuation:
            stamp, pk = pagination.decode(f"export-{order_by}", continuation)
            query = query.where(tuple_(column, Comment.pk) > (datetime.fromisoformat(stamp), pk))
    comments = list(session.execute(query.order_by(column, Comment.pk).limit(limit + 1)))
    more = len(comments) > limit and comment_uids is None
    comments = comments[:limit]
    pks = [c.pk for c in comments]
    annotations = annotations_for(session, dataset.id, pks)
    reviewed = annotated_pks(session, pks)
    predicted = predicted_labels(session, dataset, pks)
    items = [
        {
            "comment": dump_comment(c, True, c.pk in reviewed),
            "annotations": {"labels": {"assigned": assigned_with_parents(annotations.get(c.pk))}},
            "predictions": {"labels": predicted.get(c.pk, [])},
        }
        for c in comments
    ]
    if not more:
        return items, None
    last = comments[-1]
    return items, pagination.encode(f"export-{order_by}", [getattr(last, order_by).isoformat(), last.pk])
