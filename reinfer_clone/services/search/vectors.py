"""The semantic index: one in-memory vector index per (embedding model, source)
in each process, brought up to date from `comment_search` before every search
(see the package's docstring)."""
from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Comment
from .. import ml
from .keywords import _comment_search, read_horizon

# Comments read and embedded per batch while an index catches up.
REFRESH_BATCH = 1024


@dataclass
class _SourceVectors:
    """The embeddings of one source's comments under one model."""

    index: object  # classifier.vector_index.VectorIndex
    # Rows with rev >= horizon have not been read yet, except those in `seen`
    # (pk -> rev) that the last catch-up read at or above the horizon it set.
    horizon: int = 0
    seen: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_vectors: dict[tuple[str, str], _SourceVectors] = {}
_vectors_lock = threading.Lock()


def _source_vectors(session: Session, embedder, source_id: str) -> _SourceVectors:
    from ...classifier.vector_index import VectorIndex

    key = (embedder.model_id, source_id)
    with _vectors_lock:
        entry = _vectors.get(key)
        if entry is None:
            entry = _vectors[key] = _SourceVectors(VectorIndex(embedder.dimension))
    with entry.lock:
        _catch_up(session, embedder, source_id, entry)
    return entry


def _catch_up(session: Session, embedder, source_id: str, entry: _SourceVectors) -> None:
    classifier = ml.classifier()
    bind = session.get_bind()
    # Own sessions: the caller's transaction stays read-only, and cache rows
    # are committed as they are made, so an interrupted catch-up keeps them.
    with Session(bind=bind) as reader, Session(bind=bind) as writer:
        horizon = read_horizon(reader, source_id)
        rows = reader.execute(
            select(Comment.pk, _comment_search.c.rev, Comment.messages)
            .join_from(_comment_search, Comment, Comment.pk == _comment_search.c.comment_pk)
            .where(_comment_search.c.source_id == source_id, _comment_search.c.rev >= entry.horizon)
            .execution_options(yield_per=REFRESH_BATCH)
        )
        seen = {}
        for batch in rows.partitions():
            todo = [row for row in batch if entry.seen.get(row.pk) != row.rev]
            seen.update((row.pk, row.rev) for row in batch if row.rev >= horizon)
            texts = [classifier.comment_text(row.messages) for row in todo]
            entry.index.remove([row.pk for row, t in zip(todo, texts) if not t.strip()])
            todo = [(row.pk, t) for row, t in zip(todo, texts) if t.strip()]
            if todo:
                vectors = classifier.embed_cached(embedder, [t for _, t in todo], ml.SqlEmbeddingCache(writer))
                writer.commit()
                entry.index.add([pk for pk, _ in todo], vectors)
    entry.horizon, entry.seen = horizon, seen


def semantic_neighbours(session: Session, source_ids: list[str], text: str, k: int,
                        allowed: set[int] | None = None, family: str | None = None) -> list[tuple[int, float]]:
    """(comment pk, cosine similarity) of the k comments of these sources nearest
    to `text`, best first; only pks in `allowed` when it is given. The vectors
    are those of the model family's encoder (one index per encoder and source)."""
    if k <= 0 or not source_ids or not text.strip():
        return []
    embedder = ml.embedder(family)
    query = embedder.embed([text])[0]
    indexes = {s: _source_vectors(session, embedder, s).index for s in dict.fromkeys(source_ids)}
    while True:
        hits = heapq.nsmallest(
            k,
            ((-score, pk, source_id) for source_id, index in indexes.items()
             for pk, score in index.search(query, k, allowed)),
        )
        stale = _stale(session, hits)
        if not stale:
            return [(pk, -negative) for negative, pk, _ in hits]
        # Removed, they make room for the next nearest; the loop ends because
        # every round removes at least one.
        for pk, source_id in stale:
            indexes[source_id].remove([pk])


def _stale(session: Session, hits) -> list[tuple[int, str]]:
    """Hits whose comment is gone or is no longer that source's."""
    if not hits:
        return []
    found = dict(session.execute(
        select(Comment.pk, Comment.source_id).where(Comment.pk.in_([h[1] for h in hits]))).all())
    return [(pk, source_id) for _, pk, source_id in hits if found.get(pk) != source_id]


def forget_vectors() -> None:
    """Drop every in-memory index (they are rebuilt on the next search)."""
    with _vectors_lock:
        _vectors.clear()
