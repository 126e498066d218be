"""keyword search index

Revision ID: 0006
Revises: 0005

`comment_search` (and, on SQLite, the FTS5 table `comment_fts` with the
triggers that keep it in step) are not ORM models: see services/search.py.
Comments stored before this revision are indexed here.
"""
from alembic import op
import sqlalchemy as sa

from reinfer_clone.services import search


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BACKFILL_BATCH = 2000

SQLITE = [
    """CREATE TABLE comment_search (
        comment_pk INTEGER NOT NULL PRIMARY KEY
            REFERENCES comments (pk) ON DELETE CASCADE,
        source_id VARCHAR(16) NOT NULL,
        rev BIGINT NOT NULL,
        document TEXT NOT NULL
    )""",
    "CREATE INDEX ix_comment_search_source_rev ON comment_search (source_id, rev)",
    """CREATE VIRTUAL TABLE comment_fts USING fts5(
        document, content='comment_search', content_rowid='comment_pk',
        tokenize='unicode61 remove_diacritics 2'
    )""",
    # External content: FTS5 needs the old text to take a row out.
    """CREATE TRIGGER comment_search_insert AFTER INSERT ON comment_search BEGIN
        INSERT INTO comment_fts (rowid, document) VALUES (new.comment_pk, new.document);
    END""",
    """CREATE TRIGGER comment_search_delete AFTER DELETE ON comment_search BEGIN
        INSERT INTO comment_fts (comment_fts, rowid, document) VALUES ('delete', old.comment_pk, old.document);
    END""",
    """CREATE TRIGGER comment_search_update AFTER UPDATE ON comment_search BEGIN
        INSERT INTO comment_fts (comment_fts, rowid, document) VALUES ('delete', old.comment_pk, old.document);
        INSERT INTO comment_fts (rowid, document) VALUES (new.comment_pk, new.document);
    END""",
]

POSTGRESQL = [
    """CREATE TABLE comment_search (
        comment_pk BIGINT NOT NULL,
        source_id VARCHAR(16) NOT NULL,
        rev BIGINT NOT NULL,
        document TSVECTOR NOT NULL,
        CONSTRAINT pk_comment_search PRIMARY KEY (comment_pk),
        CONSTRAINT fk_comment_search_comment_pk_comments FOREIGN KEY (comment_pk)
            REFERENCES comments (pk) ON DELETE CASCADE
    )""",
    "CREATE INDEX ix_comment_search_source_rev ON comment_search (source_id, rev)",
    "CREATE INDEX ix_comment_search_document ON comment_search USING gin (document)",
]


def _backfill(bind) -> None:
    comments = sa.table("comments", sa.column("pk", sa.BigInteger), sa.column("source_id", sa.String),
                        sa.column("messages", sa.JSON))
    document = "CAST(:document AS tsvector)" if bind.dialect.name == "postgresql" else ":document"
    insert = sa.text(
        "INSERT INTO comment_search (comment_pk, source_id, rev, document) "
        f"VALUES (:comment_pk, :source_id, 0, {document})"
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(comments.c.pk, comments.c.source_id, comments.c.messages)
            .where(comments.c.pk > last).order_by(comments.c.pk).limit(BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(insert, [
            {"comment_pk": row.pk, "source_id": row.source_id,
             "document": search.keyword_document(row.messages, bind.dialect.name)}
            for row in rows
        ])
        last = rows[-1].pk


def upgrade() -> None:
    bind = op.get_bind()
    for statement in POSTGRESQL if bind.dialect.name == "postgresql" else SQLITE:
        op.execute(statement)
    _backfill(bind)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS comment_fts")  # its triggers go with comment_search
    op.execute("DROP TABLE comment_search")
