"""The SQL keyword index: `comment_search` rows written with the comments, and
the keyword queries over them (see the package's docstring)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from ...models import Comment
from .words import _fts5_query, _tsquery, keyword_document, query_terms

# Tables of the keyword index: not ORM models (migration 0006 makes them).
INDEX_TABLES = ("comment_search", "comment_fts")

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


def read_horizon(session: Session, source_id: str) -> int:
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
    terms = query_terms(query)
    if not terms:
        return sa.false()
    backend, expression = _keyword_query(session, terms)
    matching = text(_MATCH_SQL[backend]).bindparams(keywords=expression).columns(sa.column("pk", sa.BigInteger))
    return Comment.pk.in_(matching)


def keyword_scored(session: Session, source_ids: list[str], query: str,
                   limit: int | None = None) -> list[tuple[int, float]]:
    """(comment pk, relevance) of comments whose subject or body has every word
    and phrase of `query`, best first; none when it has no words."""
    terms = query_terms(query)
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
