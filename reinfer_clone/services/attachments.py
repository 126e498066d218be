"""Attachment bytes of comments, and audio (contract §6.8).

The client uploads attachments before the comment they belong to, so files are
keyed by (source, comment id, index) rather than by a comment row: a comment
that arrives later finds its files under the same key. An attachment's
reference is that key written `<source_id>.<comment_id>.<index>`; comment ids
may hold dots, so it splits at the first dot and the last.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ..db import insert_for, utcnow
from ..errors import InvalidInput, NotFound
from ..models import AttachmentFile, Comment, Source
from ..vocabulary import comment_id_problem, comment_uid

# Index is a path segment; bound it so a typo cannot create row 2**31.
MAX_INDEX = 1023


def reference(source_id: str, comment_id: str, index: int) -> str:
    return f"{comment_uid(source_id, comment_id)}.{index}"


def parse_reference(ref: str) -> tuple[str, str, int]:
    """(source id, comment id, index); a malformed reference names nothing: 404."""
    source_id, sep, rest = ref.partition(".")
    comment_id, sep2, index = rest.rpartition(".")
    if not (sep and sep2 and source_id and comment_id and index.isascii() and index.isdigit()
            and len(index) <= 4 and int(index) <= MAX_INDEX):
        raise NotFound(f"Attachment '{ref}' not found.")
    return source_id, comment_id, int(index)


def _check_comment_id(comment_id: str) -> None:
    problem = comment_id_problem(comment_id)
    if problem:
        raise InvalidInput(f"comment_id: {problem}", field="comment_id")


def _index(value: str) -> int:
    # A path segment, not an int converter: a bad one is a 400 naming it, not a 404.
    if not value.isascii() or not value.isdigit() or len(value) > 4 or int(value) > MAX_INDEX:
        raise InvalidInput(f"index: '{value}' is not an integer from 0 to {MAX_INDEX}.", field="index")
    return int(value)


def store(session: Session, source: Source, comment_id: str, index: str, content: bytes) -> str:
    """Keep the bytes of attachment `index` of a comment (which need not exist yet);
    a second upload replaces the first. Returns the hex SHA-256 of the bytes."""
    _check_comment_id(comment_id)
    index = _index(index)
    content_hash = hashlib.sha256(content).hexdigest()
    values = {"source_id": source.id, "comment_id": comment_id, "index": index,
              "content_hash": content_hash, "size": len(content), "content": content,
              "created_at": utcnow()}
    statement = insert_for(session)(AttachmentFile).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["source_id", "comment_id", "index"],
        set_={k: statement.excluded[k] for k in ("content_hash", "size", "content", "created_at")},
    )
    session.execute(statement)
    session.flush()
    return content_hash


def content(session: Session, source: Source, comment_id: str, index: int) -> bytes:
    """The bytes, once the comment they were uploaded for exists."""
    row = session.execute(
        select(AttachmentFile.content)
        .join(Comment, (Comment.source_id == AttachmentFile.source_id)
              & (Comment.external_id == AttachmentFile.comment_id))
        .where(AttachmentFile.source_id == source.id, AttachmentFile.comment_id == comment_id,
               AttachmentFile.index == index)
    ).first()
    if row is None:
        raise NotFound(f"Attachment '{reference(source.id, comment_id, index)}' not found.")
    return row.content


def stored_indexes(session: Session, comments) -> dict[tuple[str, str], set[int]]:
    """(source id, comment id) -> indexes with uploaded bytes, for comment rows
    (anything with `source_id` and `external_id`): which attachment entries can
    carry an `attachment_reference`."""
    keys = list({(c.source_id, c.external_id) for c in comments})
    out: dict[tuple[str, str], set[int]] = {}
    if not keys:
        return out
    rows = session.execute(
        select(AttachmentFile.source_id, AttachmentFile.comment_id, AttachmentFile.index)
        .where(tuple_(AttachmentFile.source_id, AttachmentFile.comment_id).in_(keys))
    )
    for source_id, comment_id, index in rows:
        out.setdefault((source_id, comment_id), set()).add(index)
    return out


def receive_audio(source: Source, comment_id: str, audio: bytes) -> None:
    """Audio is accepted (the client's upload must succeed) but not kept: nothing
    here transcribes or serves it."""
    _check_comment_id(comment_id)
