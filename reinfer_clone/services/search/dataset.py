"""Search within a dataset: candidates from the keyword or semantic index, kept
when they pass the query route's filters."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Comment, Dataset
from ...vocabulary import KEYWORD, SEMANTIC
from ..comment_filter import CommentFilter
from ..labellings import annotated
from ..query import RowTester, Selection
from .keywords import keyword_scored
from .vectors import semantic_neighbours

# Candidates per batch of rows loaded while filtering search results.
FILTER_BATCH = 512


def search_dataset(session: Session, dataset: Dataset, query: str, kind: str, limit: int,
                   selection: Selection) -> list[dict]:
    """AnnotatedComments, each with its `score`, of the `limit` best matches of
    `query` among the dataset's comments that pass `selection` (its comment
    filter and attribute filters, as the query route reads them).

    The filters are applied to candidates in rank order; when too few pass, more
    candidates are fetched (four times as many each round) until enough pass
    or there are no more. A semantic search whose filter has a time range or
    review state narrows the candidates in SQL once a first round falls short.
    """
    comment_filter = selection.comment_filter
    source_ids = comment_filter.source_ids(dataset.source_ids)
    if not source_ids:
        return []
    conditions = selection.conditions(session, dataset)
    tester = RowTester(session, dataset, selection)
    fetch = limit * 4 if _sql_narrows(comment_filter) or selection.tests_rows else limit
    allowed = None
    while True:
        if kind == KEYWORD:
            candidates = keyword_scored(session, source_ids, query, fetch)
        else:
            candidates = semantic_neighbours(session, source_ids, query, fetch, allowed,
                                             dataset.model_family)
        kept = _passing(session, conditions, tester, candidates, limit)
        if len(kept) >= limit or len(candidates) < fetch:
            break
        if kind == SEMANTIC and allowed is None and _sql_narrows(comment_filter):
            allowed = set(session.scalars(select(Comment.pk).where(*conditions)))
        fetch *= 4
    items = annotated(session, dataset, [row for row, _ in kept])
    for item, (_, score) in zip(items, kept):
        item["score"] = score
    return items


def _sql_narrows(comment_filter: CommentFilter) -> bool:
    return (comment_filter.minimum is not None or comment_filter.maximum is not None
            or comment_filter.reviewed is not None)


def _passing(session: Session, conditions: list, tester: RowTester,
             candidates: list[tuple[int, float]], limit: int) -> list[tuple[object, float]]:
    """The first `limit` candidates (as comment rows) that pass the filters: the
    query route's SQL conditions, then its row tester."""
    kept = []
    for start in range(0, len(candidates), FILTER_BATCH):
        batch = candidates[start:start + FILTER_BATCH]
        rows = {row.pk: row for row in tester.keep(session.execute(
            select(*Comment.__table__.columns).where(Comment.pk.in_([pk for pk, _ in batch]), *conditions)).all())}
        for pk, score in batch:
            if pk in rows:
                kept.append((rows[pk], score))
                if len(kept) == limit:
                    return kept
    return kept
