"""Comments of a source: create-only upload, upsert sync, keyset iteration, delete.

A batch is one transaction: it is validated whole before anything is written,
and any conflict rejects it whole.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import delete as sql_delete
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ..db import insert_for, utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..models import Comment, Source
from .. import pagination
from . import search

CONTENT_FIELDS = ("timestamp", "thread_id", "messages", "user_properties", "attachments")
MAX_DELETE = 1024


def content_hash(record: dict) -> str:
    canonical = json.dumps(
        [record["timestamp"].isoformat(), record["thread_id"], record["messages"],
         record["user_properties"], record["attachments"]],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _existing_hashes(session: Session, source_id: str, ids) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Comment.external_id, Comment.content_hash).where(
            Comment.source_id == source_id, Comment.external_id.in_(list(ids))
        )
    )
    return dict(rows.all())


def _rows(source_id: str, records, now: datetime) -> list[dict]:
    # Sorted by id so concurrent writers lock rows in one order (no deadlocks).
    return [
        {**record, "source_id": source_id, "created_at": now, "last_modified": now}
        for record in sorted(records, key=lambda r: r["external_id"])
    ]


def _index(session: Session, source: Source, written, records: dict[str, dict]) -> None:
    """Keyword documents for the rows this statement wrote (a concurrent writer
    of the same content writes its own), in the same transaction."""
    search.index_comments(session, source.id, [(pk, records[external_id]["messages"]) for pk, external_id in written])


def upload(session: Session, source: Source, records: list[dict]) -> None:
    """Create-only: an id already stored with other content is a 409 for the whole batch."""
    batch: dict[str, dict] = {}
    for record in records:
        record["content_hash"] = content_hash(record)
        seen = batch.get(record["external_id"])
        if seen is not None and seen["content_hash"] != record["content_hash"]:
            raise Conflict(
                f"Comment '{record['external_id']}' appears twice in the request with different content."
            )
        batch[record["external_id"]] = record
    # Insert first and read back only the ids that were already there: a
    # lookup of every id costs a plan that depends on table statistics, which
    # a fresh PostgreSQL table being bulk-loaded does not have yet.
    insert = insert_for(session)
    statement = (
        insert(Comment).on_conflict_do_nothing(index_elements=["source_id", "external_id"])
        .returning(Comment.pk, Comment.external_id)
    )
    written = session.execute(statement, _rows(source.id, list(batch.values()), utcnow())).all()
    present = set(batch) - {external_id for _, external_id in written}
    for external_id, stored_hash in sorted(_existing_hashes(session, source.id, present).items()):
        if batch[external_id]["content_hash"] != stored_hash:
            # The caller's rollback takes back this batch's inserts too.
            raise Conflict(
                f"Comment '{external_id}' already exists with different content; "
                "use sync to update it."
            )
    _index(session, source, written, batch)
    session.flush()


# Sentinel for a stored comment whose (different) content hash was not read.
_OTHER_CONTENT = object()


def _upsert(session: Session, source: Source, rows: list[dict], postgres: bool) -> list:
    """Upsert comments, writing only those whose content changed (the last
    writer wins); returns (pk, external_id, inserted) for the rows written."""
    if not rows:
        return []
    insert = insert_for(session)
    statement = insert(Comment)
    excluded = statement.excluded
    # On PostgreSQL a row just inserted has xmax 0, an updated one has not:
    # one statement tells new from updated without reading first.
    inserted = sa.literal_column("(xmax = 0)") if postgres else sa.false()
    statement = statement.on_conflict_do_update(
        index_elements=["source_id", "external_id"],
        # created_at is left alone: an updated comment keeps its first upload time.
        set_={
            **{name: excluded[name] for name in CONTENT_FIELDS},
            "content_hash": excluded.content_hash,
            "last_modified": excluded.last_modified,
        },
        where=Comment.content_hash != excluded.content_hash,
    ).returning(Comment.pk, Comment.external_id, inserted)
    return session.execute(statement, _rows(source.id, rows, utcnow())).all()


def sync(session: Session, source: Source, records: list[dict]) -> dict[str, int]:
    """Upsert in request order (last wins); count new, updated and unchanged."""
    final: dict[str, dict] = {}
    repeated: set[str] = set()
    for record in records:
        record["content_hash"] = content_hash(record)
        if record["external_id"] in final:
            repeated.add(record["external_id"])
        final[record["external_id"]] = record
    postgres = session.bind.dialect.name == "postgresql"
    if postgres:
        # The upsert itself tells what was stored before; only ids repeated
        # within the request need their stored content read first.
        stored: dict = _existing_hashes(session, source.id, repeated)
        written = _upsert(session, source, list(final.values()), postgres)
        outcome = {external_id: was_inserted for _, external_id, was_inserted in written}
        for external_id, record in final.items():
            if external_id not in repeated:
                was_inserted = outcome.get(external_id)
                stored[external_id] = (record["content_hash"] if was_inserted is None  # unchanged
                                       else None if was_inserted else _OTHER_CONTENT)
    else:
        # One writer at a time, and always planned on the unique index: read every id first.
        stored = _existing_hashes(session, source.id, final)
        written = _upsert(session, source, [r for i, r in final.items() if stored.get(i) != r["content_hash"]],
                          postgres)
    counts = {"new": 0, "updated": 0, "unchanged": 0}
    for record in records:
        previous = stored.get(record["external_id"])
        if previous is None:
            counts["new"] += 1
        elif previous != record["content_hash"]:
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
        stored[record["external_id"]] = record["content_hash"]
    _index(session, source, [(pk, external_id) for pk, external_id, _ in written], final)
    session.flush()
    return counts


def get(session: Session, source: Source, external_id: str) -> Comment:
    comment = session.scalar(
        select(Comment).where(Comment.source_id == source.id, Comment.external_id == external_id)
    )
    if comment is None:
        raise NotFound(f"Comment '{external_id}' not found in source '{source.owner}/{source.name}'.")
    return comment


def iterate(
    session: Session,
    source: Source,
    limit: int,
    minimum: datetime | None = None,
    maximum: datetime | None = None,
    after: str | None = None,
) -> tuple[list, str | None]:
    """One page in (timestamp, id) order, and the cursor for the next (None at the end)."""
    # Plain rows, not ORM objects: pages are read-only and identity-map upkeep
    # was a third of the cost of a page.
    query = select(*Comment.__table__.columns).where(Comment.source_id == source.id)
    if after:
        stamp, external_id = pagination.decode("comments", after, field="after")
        position = (datetime.fromisoformat(stamp), external_id)
        query = query.where(tuple_(Comment.timestamp, Comment.external_id) > position)
    if minimum is not None:
        query = query.where(Comment.timestamp >= minimum)
    if maximum is not None:
        query = query.where(Comment.timestamp <= maximum)
    query = query.order_by(Comment.timestamp, Comment.external_id).limit(limit + 1)
    comments = list(session.execute(query))
    if len(comments) <= limit:
        return comments, None
    comments = comments[:limit]
    last = comments[-1]
    return comments, pagination.encode("comments", [last.timestamp.isoformat(), last.external_id])


def delete(session: Session, source: Source, external_ids: list[str]) -> None:
    if len(external_ids) > MAX_DELETE:
        raise InvalidInput(f"id: at most {MAX_DELETE} ids per request.", field="id")
    if external_ids:
        session.execute(
            sql_delete(Comment).where(
                Comment.source_id == source.id, Comment.external_id.in_(external_ids)
            )
        )
    session.flush()
