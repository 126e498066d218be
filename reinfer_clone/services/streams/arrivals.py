"""Arrival numbers: the global order streams deliver comments in.

Exactly-once delivery
---------------------
A cursor over `(created_at, pk)` itself would be unsound: an upload stamps
`created_at` (and PostgreSQL draws `pk` from its sequence) before its
transaction commits, so a comment can become visible *behind* a position a
consumer has already fetched and advanced past, and it would never be
delivered. Handing out only comments older than "now minus a lag" narrows that
window without closing it, and delays every delivery by the lag.

So cursors move along *arrival numbers* instead (`stream_arrivals.seq`):

* A catch-up numbers every committed comment that has no number yet, in
  `(created_at, pk)` order, above every number handed out before. Numbers come
  from one counter row, which a catch-up locks with its first statement and
  holds until it commits (PostgreSQL: a row lock; SQLite: the write lock).
  Catch-ups therefore commit one after another, and a comment that commits
  late simply gets a later number from the next one: a number never appears
  below one that a reader has already seen.
* fetch, reset and stream creation catch up before they read. fetch never
  moves the cursor. advance is one conditional UPDATE (`position < new`), so a
  stale advance after a newer one is a no-op and no consumer ever sees the
  cursor go back.
* A catch-up only looks at comments created since `LATE_COMMIT_BOUND` before
  the newest numbered one. That bound must exceed the time between an upload
  stamping `created_at` and committing (SQLite writers give up after their
  30 s busy timeout; uploads are single short transactions). It bounds the work
  of a catch-up, not the latency of delivery; exactness rests on it alone.

Consequences: numbering is global (not per dataset), so a comment has one
position whatever datasets it is in; when a source joins a dataset, its streams
deliver the source's comments numbered after their cursors. "Upload order" is
arrival order, which differs from `created_at` order only for comments that
committed late; reset finds "the first comment with created_at >= T" in that
order (a time in the future means "now"). A deleted comment takes its number
with it; numbers are never reused (the counter only grows).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...db import insert_for
from ...models import Comment, StreamArrival, StreamCounter

LATE_COMMIT_BOUND = timedelta(minutes=2)
COUNTER_ID = 1


def _unnumbered(since: datetime | None):
    """Committed comments without an arrival number (created since `since`)."""
    query = select(Comment.pk, Comment.source_id, Comment.created_at).where(
        ~exists().where(StreamArrival.comment_pk == Comment.pk)
    )
    if since is not None:
        query = query.where(Comment.created_at >= since)
    return query


def _window_start(session: Session) -> datetime | None:
    # Any numbered comment was committed before the latest catch-up, so the
    # newest one's created_at minus the bound reaches back past every comment
    # still unnumbered. None: nothing numbered yet, look at everything.
    newest = session.scalar(
        select(StreamArrival.created_at).order_by(StreamArrival.seq.desc()).limit(1)
    )
    return None if newest is None else newest - LATE_COMMIT_BOUND


def last_number(session: Session) -> int:
    return session.scalar(select(StreamCounter.last_seq).where(StreamCounter.id == COUNTER_ID)) or 0


def _lock_counter(writer: Session) -> int:
    """Lock the counter row (creating it on first use) and return its value."""
    lock = update(StreamCounter).where(StreamCounter.id == COUNTER_ID).values(last_seq=StreamCounter.last_seq)
    if writer.execute(lock).rowcount == 0:
        writer.execute(insert_for(writer)(StreamCounter).values(id=COUNTER_ID, last_seq=0)
                       .on_conflict_do_nothing())
        writer.execute(lock)
    return last_number(writer)


def catch_up(session: Session) -> None:
    """Number the committed comments that have no arrival number yet.

    Runs in a session of its own, so the caller's transaction stays read-only.
    """
    if not session.scalar(select(_unnumbered(_window_start(session)).exists())):
        return
    for attempt in range(3):
        with Session(bind=session.get_bind()) as writer:
            try:
                last = _lock_counter(writer)
                # Again under the lock: another catch-up may have numbered what the probe saw.
                pending = _unnumbered(_window_start(writer)).subquery()
                numbered = select(
                    pending.c.pk, pending.c.source_id, pending.c.created_at,
                    literal(last) + func.row_number().over(order_by=(pending.c.created_at, pending.c.pk)),
                )
                writer.execute(insert(StreamArrival).from_select(
                    ["comment_pk", "source_id", "created_at", "seq"], numbered))
                new_last = max(writer.scalar(select(func.max(StreamArrival.seq))) or 0, last)
                writer.execute(update(StreamCounter).where(StreamCounter.id == COUNTER_ID)
                               .values(last_seq=new_last))
                writer.commit()
                return
            except IntegrityError:
                # A comment deleted between the read and the insert: read again.
                writer.rollback()
                if attempt == 2:
                    raise
