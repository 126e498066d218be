"""keyword search index

Revision ID: 0006
Revises: 0005

`comment_search` (and, on SQLite, the FTS5 table `comment_fts` with the
triggers that keep it in step) are not ORM models: see services/search.py.
Comments stored before this revision are indexed here, with a frozen copy of
the word rules services/search.py had at this revision: a migration is
history, so its output must not change when today's tokenizer does.
"""
import functools
import re
import sys
import unicodedata

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BACKFILL_BATCH = 2000

# --- frozen copy of services/search.py's words (as of revision 0006) -----------------------

MAX_DOCUMENT_CHARS = 200_000
MAX_WORD_CHARS = 255
MAX_POSITIONS = 256
MAX_POSITION = 16383
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
_LATIN_DIACRITICS = re.compile("[\u0300-\u036f]")
_ASCII_WORD = re.compile("[a-z0-9]+")


def _char_class(ranges) -> str:
    return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


@functools.cache
def _word_pattern() -> re.Pattern:
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


def _words(text: str) -> list[str]:
    text = text[:MAX_DOCUMENT_CHARS]
    if text.isascii():
        found = _ASCII_WORD.findall(text.lower())
    else:
        text = unicodedata.normalize("NFKD", text.casefold())
        text = unicodedata.normalize("NFC", _LATIN_DIACRITICS.sub("", text))
        found = _word_pattern().findall(text)
    return [w for w in found if len(w) <= MAX_WORD_CHARS]


def _texts(messages):
    for message in messages or ():
        for part in ("subject", "body"):
            value = (message or {}).get(part) if isinstance(message, dict) else None
            if isinstance(value, dict) and isinstance(value.get("text"), str):
                yield value["text"]


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def keyword_document(messages, dialect: str) -> str:
    found = _words("\n".join(_texts(messages)))
    if dialect != "postgresql":
        return " ".join(found)
    positions: dict[str, list[int]] = {}
    for number, word in enumerate(found, start=1):
        at = positions.setdefault(word, [])
        if len(at) < MAX_POSITIONS and (not at or at[-1] < MAX_POSITION):
            at.append(min(number, MAX_POSITION))
    return " ".join(f"{_quoted(w)}:{','.join(map(str, at))}" for w, at in positions.items())

# --- end of the frozen copy ---------------------------------------------------------------

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
             "document": keyword_document(row.messages, bind.dialect.name)}
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
