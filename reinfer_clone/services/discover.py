"""Discover (our extension): the topics in a dataset's comments, as clusters named
by their most distinctive terms, with the comments closest to each centre as
samples. An analyst turns a cluster into a label by labelling its samples.

When more comments match than `max_comments`, a deterministic sample is taken:
the ones with the smallest hash of (seed, row), so the same request reads the
same comments, and new comments change the sample only where they land in it.
"""
from __future__ import annotations

import dataclasses
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..models import Comment, Dataset
from . import ml
from .comment_filter import ONLY_REVIEWED, ONLY_UNREVIEWED, CommentFilter
from .labellings import annotated
from ..vocabulary import comment_uid

# Rows per IN (...) query: well under SQLite's variable limit.
CHUNK = 500
COLUMNS = tuple(Comment.__table__.columns)
# `max_comments` when absent (or REINFER_CLONE_MAX_DISCOVER_COMMENTS, if lower).
DEFAULT_MAX_COMMENTS = 20_000


def _sample_key(seed: int, pk: int) -> bytes:
    return hashlib.blake2b(f"{seed}:{pk}".encode(), digest_size=8).digest()


def _with_review_state(comment_filter: CommentFilter, unreviewed_only: bool) -> CommentFilter:
    if not unreviewed_only:
        return comment_filter
    if comment_filter.reviewed == ONLY_REVIEWED:
        raise InvalidInput(
            f"Invalid request: unreviewed_only: cannot be true when {comment_filter.field}.reviewed "
            f"is '{ONLY_REVIEWED}'.",
            field="unreviewed_only",
        )
    return dataclasses.replace(comment_filter, reviewed=ONLY_UNREVIEWED)


def select_comments(session: Session, dataset: Dataset, comment_filter: CommentFilter,
                    max_comments: int, seed: int) -> list:
    """Rows (all Comment columns) of at most `max_comments` matching comments, by pk."""
    source_ids = comment_filter.source_ids(dataset.source_ids)
    if not source_ids:
        return []
    conditions = comment_filter.conditions(source_ids, dataset.id)
    pks = list(session.scalars(select(Comment.pk).where(*conditions).order_by(Comment.pk)))
    if len(pks) > max_comments or comment_filter.tests_content:
        # With content tests the count that matches is unknown until rows are read:
        # read in sample order and stop once enough have matched.
        pks.sort(key=lambda pk: _sample_key(seed, pk))
    chosen = []
    for start in range(0, len(pks), CHUNK):
        chunk = pks[start:start + CHUNK]
        found = {row.pk: row for row in session.execute(select(*COLUMNS).where(Comment.pk.in_(chunk)))}
        for pk in chunk:
            row = found.get(pk)
            if row is not None and comment_filter.matches_content(row):
                chosen.append(row)
                if len(chosen) == max_comments:
                    return sorted(chosen, key=lambda r: r.pk)
    return sorted(chosen, key=lambda r: r.pk)


def _uid(row) -> str:
    return comment_uid(row.source_id, row.external_id)


def _embeddings(session: Session, texts: list[str], family: str):
    classifier = ml.classifier()
    # Its own session, so the request's transaction stays read-only; the cache
    # means a second discover over the same comments embeds nothing.
    with Session(bind=session.get_bind()) as writer:
        embeddings = classifier.embed_cached(ml.embedder(family), texts, ml.SqlEmbeddingCache(writer))
        writer.commit()
    return embeddings


def _annotated(session: Session, dataset: Dataset, rows: list) -> dict[int, dict]:
    out = {}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        out.update(zip((r.pk for r in chunk), annotated(session, dataset, chunk)))
    return out


def discover(session: Session, dataset: Dataset, comment_filter: CommentFilter, n_clusters: int | None = None,
             max_comments: int | None = None, samples: int = 5, seed: int = 0,
             unreviewed_only: bool = False, include_uids: bool = False, *, limit: int = DEFAULT_MAX_COMMENTS) -> dict:
    """`{"clusters": [...], "num_comments": n}`; clusters largest first, with
    `uids` of every member when asked. Asking for more clusters than there are
    (distinct) comments gives fewer. `limit` bounds `max_comments`
    (REINFER_CLONE_MAX_DISCOVER_COMMENTS); absent, the smaller of DEFAULT_MAX_COMMENTS and `limit`."""
    if max_comments is None:
        max_comments = min(DEFAULT_MAX_COMMENTS, limit)
    elif max_comments > limit:
        raise InvalidInput(f"Invalid request: max_comments: at most {limit} comments per discover request "
                           f"(REINFER_CLONE_MAX_DISCOVER_COMMENTS).", field="max_comments")
    comment_filter = _with_review_state(comment_filter, unreviewed_only)
    rows = select_comments(session, dataset, comment_filter, max_comments, seed)
    if not rows:
        return {"clusters": [], "num_comments": 0}
    # Imported here: the classifier package pulls in torch, which start-up should not pay for.
    from ..classifier import clustering

    texts = [ml.classifier().comment_text(row.messages) for row in rows]
    clusters = clustering.cluster(_embeddings(session, texts, dataset.model_family), texts, n_clusters, seed, num_samples=samples)
    sample_rows = [rows[i] for c in clusters for i in c.samples]
    items = _annotated(session, dataset, sample_rows)
    out = []
    for number, found in enumerate(clusters):
        picked = [rows[i] for i in found.samples]
        item = {
            "id": number,
            "size": found.size,
            "terms": found.terms,
            "centroid_similarity": found.centroid_similarity,
            "samples": [items[r.pk] for r in picked],
            "sample_uids": [_uid(r) for r in picked],
        }
        if include_uids:
            item["uids"] = [_uid(rows[i]) for i in found.indices]
        out.append(item)
    return {"clusters": out, "num_comments": len(rows)}
