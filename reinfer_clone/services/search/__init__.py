"""Keyword and semantic search over comments, one module per job: `words`
(the tokenizer), `keywords` (the SQL keyword index), `vectors` (the
process-wide semantic index) and `dataset` (search within a dataset, which
builds on services/query/ and so is not imported here: query imports
`keywords`).

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

from .keywords import (
    INDEX_TABLES,
    include_name,
    index_comments,
    is_index_table,
    keyword_condition,
    keyword_matches,
    keyword_scored,
)
from .vectors import forget_vectors, semantic_neighbours
from .words import keyword_document, normalise, words

__all__ = [
    "INDEX_TABLES", "forget_vectors", "include_name", "index_comments", "is_index_table",
    "keyword_condition", "keyword_document", "keyword_matches", "keyword_scored", "normalise",
    "semantic_neighbours", "words",
]
