"""Keyword and semantic search over comments.

Keyword index
-------------
`comment_search` holds one row per comment: `(comment_pk, source_id, rev,
document)`, written by `index_comments` in the transaction that inserts or
changes the comment (services/comments.py) and removed with it by the foreign
key's ON DELETE CASCADE (so source and project deletes are covered too).
It is not an ORM model: its `document` differs by backend.

* PostgreSQL: `document` is a `tsvector` under a GIN index.
* SQLite: `document` is text, and the FTS5 table `comment_fts` (unicode61,
  remove_diacritics) indexes it as external content; triggers keep it in step.

Both backends see the same words because the words are made here, not by the
database: subject and body texts are case-folded, stripped of Latin
diacritics (so `café` matches `cafe`, `Straße` matches `strasse`) and cut into
runs of letters, marks and digits; Chinese and Japanese characters become one
word each, since those scripts do not separate words. SQLite gets the words
joined by spaces; PostgreSQL gets a `tsvector` literal with their positions
(no text search configuration, hence no stemming and no stop words, in any
language). A query is words and "quoted phrases"; every one must match, a word
of several parts (`e-mail`, `退款`) as a phrase. Results are ordered by bm25
(SQLite) or ts_rank (PostgreSQL), so scores are comparable within one backend
only. Documents are cut at `MAX_DOCUMENT_CHARS`.

`rev` says when a row was last written, in commit order: SQLite numbers a
source's writes 1, 2, ... under its single write lock; PostgreSQL stores the
writer's transaction id, and a reader's horizon is the oldest transaction
still running (`pg_snapshot_xmin`), so a write that commits late is still at
or above the horizon the next reader uses (a transaction left open holds the
horizon back, so rows written meanwhile are read again, and skipped, by every
catch-up until it ends). This is the change feed of the semantic index.

Semantic index
--------------
Each process keeps one `classifier.vector_index.VectorIndex` per (embedding
model, source). Every search first brings the indexes it reads up to date: it
reads the `comment_search` rows of the source at or above the index's horizon
(new and changed comments; a first search reads them all), embeds their text
(`comment_text`, through the SQL embedding cache, which training shares) and
adds or replaces their vectors. So a comment uploaded a moment ago is found by
the next search, and a first search on a large source pays for embedding
whatever the cache lacks. Comments with no text are not indexed.

Deleted comments leave no row to read: a hit whose comment is gone (or, on
SQLite, whose primary key now belongs to a comment of another source) is
removed from the index when a search meets it, and the search goes on, so
deleted comments are never returned. Indexes of deleted sources stay in memory
until the process restarts.
"""
from __future__ import annotations

import functools
import heapq
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from ..models import Comment, Dataset
from ..schemas.search import KEYWORD, SEMANTIC
from . import ml
from .comment_filter import CommentFilter
from .labellings import annotated
from .query import RowTester, Selection

# Tables of the keyword index: not ORM models (migration 0006 makes them).
INDEX_TABLES = ("comment_search", "comment_fts")
MAX_DOCUMENT_CHARS = 200_000
# PostgreSQL refuses lexemes over 2 KB and keeps 256 positions per lexeme,
# the last at most 16383; SQLite follows the same limits so both agree.
MAX_WORD_CHARS = 255
MAX_POSITIONS = 256
MAX_POSITION = 16383
# Comments read and embedded per batch while an index catches up.
REFRESH_BATCH = 1024
# Candidates per batch of rows loaded while filtering search results.
FILTER_BATCH = 512

_comment_search = sa.table(
    "comment_search",
    sa.column("comment_pk", sa.BigInteger),
    sa.column("source_id", sa.String),
    sa.column("rev", sa.BigInteger),
)


def is_index_table(name: str) -> bool:
    """Tables of the keyword index (and FTS5's shadow tables): the model-drift
    check and autogenerate leave them alone."""
    return any(name == t or name.startswith(t + "_") for t in INDEX_TABLES)


def include_name(name, type_, _parent_names) -> bool:
    """Alembic's `include_name` hook: leave the keyword index's tables out."""
    return not (type_ == "table" and is_index_table(name))


# --- words ---------------------------------------------------------------------------------

# Chinese and Japanese scripts: kana, CJK ideographs and their extensions.
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
_LATIN_DIACRITICS = re.compile("[\u0300-\u036f]")


def _char_class(ranges) -> str:
    return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


@functools.cache
def _word_pattern() -> re.Pattern:
    """Letters, marks and digits (Unicode categories L, M, N); one CJK character
    at a time. Python's `\\w` leaves out combining marks, which would cut Indic
    words apart."""
    cjk = [False] * (sys.maxunicode + 1)
    for low, high in _CJK_RANGES:
        cjk[low:high + 1] = [True] * (high - low + 1)
    ranges = {True: [], False: []}
    start, start_cjk = None, False
    for point in range(sys.maxunicode + 2):
        inside = point <= sys.maxunicode and unicodedata.category(chr(point))[0] in "LMN"
        if start is not None and (not inside or cjk[point] != start_cjk):
            ranges[start_cjk].append((start, point - 1))
            start = None
        if inside and start is None:
            start, start_cjk = point, cjk[point]
    return re.compile(f"[{_char_class(ranges[True])}]|[{_char_class(ranges[False])}]+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", _LATIN_DIACRITICS.sub("", text))


_ASCII_WORD = re.compile("[a-z0-9]+")


def words(text: str) -> list[str]:
    text = text[:MAX_DOCUMENT_CHARS]
    if text.isascii():
        # Most comments: the same words, several times faster than the Unicode class.
        found = _ASCII_WORD.findall(text.lower())
    else:
        found = _word_pattern().findall(normalise(text))
    return [w for w in found if len(w) <= MAX_WORD_CHARS]


def _texts(messages) -> Iterable[str]:
    for message in messages or ():
        for part in ("subject", "body"):
            value = (message or {}).get(part) if isinstance(message, dict) else None
            if isinstance(value, dict) and isinstance(value.get("text"), str):
                yield value["text"]


def keyword_document(messages, dialect: str) -> str:
    """What `comment_search.document` holds for a comment with these messages."""
    found = words("\n".join(_texts(messages)))
    if dialect != "postgresql":
        return " ".join(found)
    positions: dict[str, list[int]] = {}
    for number, word in enumerate(found, start=1):
        at = positions.setdefault(word, [])
        if len(at) < MAX_POSITIONS and (not at or at[-1] < MAX_POSITION):
            at.append(min(number, MAX_POSITION))
    return " ".join(f"{_quoted(w)}:{','.join(map(str, at))}" for w, at in positions.items())


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _query_terms(query: str) -> list[list[str]]:
    """Words and quoted phrases, each as its list of words."""
    terms = []
    for match in re.finditer(r'"([^"]*)"?|[^\s"]+', query):
        found = words(match.group(1) if match.group(1) is not None else match.group(0))
        if found:
            terms.append(found)
    return terms


def _fts5_query(terms: list[list[str]]) -> str:
    # Each term is an FTS5 phrase; a space between phrases means AND.
    return " ".join('"' + " ".join(t) + '"' for t in terms)


def _tsquery(terms: list[list[str]]) -> str:
    return " & ".join("(" + " <-> ".join(_quoted(w) for w in t) + ")" for t in terms)


# --- keyword index upkeep ------------------------------------------------------------------

_UPSERT = """
INSERT INTO comment_search (comment_pk, source_id, rev, document)
VALUES (:comment_pk, :source_id, :rev, {document})
ON CONFLICT (comment_pk) DO UPDATE
SET source_id = excluded.source_id, rev = excluded.rev, document = excluded.document
"""


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _next_rev(session: Session, source_id: str) -> int:
    if _dialect(session) == "postgresql":
        return session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
    # The caller has written comments, so it holds SQLite's write lock: no
    # other writer can take the same number, nor commit in between.
    return _sqlite_horizon(session, source_id)


def _horizon(session: Session, source_id: str) -> int:
    """Every write that is not visible yet will get a rev at or above this."""
    if _dialect(session) == "postgresql":
        return session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
    return _sqlite_horizon(session, source_id)


def _sqlite_horizon(session: Session, source_id: str) -> int:
    top = session.scalar(
        select(sa.func.max(_comment_search.c.rev)).where(_comment_search.c.source_id == source_id)
    )
    return (top or 0) + 1


def index_comments(session: Session, source_id: str, comments: list[tuple[int, list]]) -> None:
    """Write the keyword documents of comments just inserted or changed, given
    as (pk, messages), in the caller's transaction (the caller commits)."""
    if not comments:
        return
    dialect = _dialect(session)
    rev = _next_rev(session, source_id)
    document = "CAST(:document AS tsvector)" if dialect == "postgresql" else ":document"
    session.execute(
        text(_UPSERT.format(document=document)),
        [{"comment_pk": pk, "source_id": source_id, "rev": rev, "document": keyword_document(messages, dialect)}
         for pk, messages in comments],
    )


# --- keyword search ------------------------------------------------------------------------

_KEYWORD_SQL = {
    "sqlite": """
        SELECT s.comment_pk, -bm25(comment_fts) AS score
        FROM comment_fts JOIN comment_search AS s ON s.comment_pk = comment_fts.rowid
        WHERE comment_fts MATCH :query AND s.source_id IN :sources
        ORDER BY bm25(comment_fts), s.comment_pk
    """,
    "postgresql": """
        SELECT s.comment_pk, ts_rank(s.document, q) AS score
        FROM comment_search AS s, CAST(:query AS tsquery) AS q
        WHERE s.document @@ q AND s.source_id IN :sources
        ORDER BY score DESC, s.comment_pk
    """,
}


def _keyword_query(session: Session, terms: list[list[str]]) -> tuple[str, str]:
    """The backend's key in the SQL tables above, and the terms as its query."""
    if _dialect(session) == "postgresql":
        return "postgresql", _tsquery(terms)
    return "sqlite", _fts5_query(terms)


_MATCH_SQL = {
    "sqlite": "SELECT rowid AS pk FROM comment_fts WHERE comment_fts MATCH :keywords",
    "postgresql": "SELECT comment_pk AS pk FROM comment_search WHERE document @@ CAST(:keywords AS tsquery)",
}


def keyword_condition(session: Session, query: str):
    """A condition on comments: the subject or body has every word and phrase
    of `query` (none do when it has no words). The query route's `search`."""
    terms = _query_terms(query)
    if not terms:
        return sa.false()
    backend, expression = _keyword_query(session, terms)
    matching = text(_MATCH_SQL[backend]).bindparams(keywords=expression).columns(sa.column("pk", sa.BigInteger))
    return Comment.pk.in_(matching)


def keyword_scored(session: Session, source_ids: list[str], query: str,
                   limit: int | None = None) -> list[tuple[int, float]]:
    """(comment pk, relevance) of comments whose subject or body has every word
    and phrase of `query`, best first; none when it has no words."""
    terms = _query_terms(query)
    if not terms or not source_ids:
        return []
    backend, expression = _keyword_query(session, terms)
    sql = _KEYWORD_SQL[backend]
    params = {"query": expression, "sources": list(source_ids)}
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    statement = text(sql).bindparams(bindparam("sources", expanding=True))
    return [(int(pk), float(score)) for pk, score in session.execute(statement, params)]


def keyword_matches(session: Session, source_ids: list[str], text: str, limit: int | None = None) -> list[int]:
    """Comment pks whose subject/body match the keyword query, best first."""
    return [pk for pk, _ in keyword_scored(session, source_ids, text, limit)]


# --- semantic index ------------------------------------------------------------------------

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
    from ..classifier.vector_index import VectorIndex

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
        horizon = _horizon(reader, source_id)
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


# --- search within a dataset ----------------------------------------------------------------

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
