"""Stream exceptions: comments a consumer flagged, recorded by (uid, type)."""
from __future__ import annotations

from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from ...db import insert_for, utcnow
from ...errors import InvalidInput
from ...models import Stream, StreamException
from ...vocabulary import parse_uid


def add_exceptions(session: Session, stream: Stream, exceptions: list[dict]) -> None:
    """Record (uid, type) pairs; recording one twice is a no-op."""
    rows = {}
    for i, item in enumerate(exceptions):
        try:
            parse_uid(item["uid"])
        except InvalidInput as error:
            field = f"exceptions.{i}.uid"
            raise InvalidInput(f"Invalid request: {field}: {error.message}", field=field) from None
        rows[(item["uid"], item["metadata"]["type"])] = None
    if rows:
        now = utcnow()
        session.execute(
            insert_for(session)(StreamException).on_conflict_do_nothing(),
            [{"stream_id": stream.id, "uid": uid, "type": type_, "created_at": now}
             for uid, type_ in sorted(rows)],
        )
    session.flush()


def remove_exceptions(session: Session, stream: Stream, uids: list[str]) -> None:
    if not uids:
        raise InvalidInput("Invalid request: uid: give at least one 'uid' query parameter.", field="uid")
    session.execute(sql_delete(StreamException).where(
        StreamException.stream_id == stream.id, StreamException.uid.in_(uids)))
    session.flush()
