"""Streams (contract §12): named cursors over the comments of a dataset's sources.

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
from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import pagination
from ..db import insert_for, utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..models import Labelling, Comment, Dataset, ModelVersion, Stream, StreamArrival, StreamCounter
from ..models import StreamException
from ..wire import dump_comment
from . import comment_filter, model_versions, owned, predictions
from .labellings import annotated_pks
from ..vocabulary import LABEL_SEPARATOR, parse_uid

LATE_COMMIT_BOUND = timedelta(minutes=2)
SEQUENCE_KIND = "stream"
COUNTER_ID = 1
# Comments read per query while a results request looks for enough matches.
SCAN_CHUNK = 256


# --- arrival numbers --------------------------------------------------------------------

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


# --- streams ----------------------------------------------------------------------------

def list_streams(session: Session, dataset: Dataset) -> list[Stream]:
    return list(session.scalars(select(Stream).where(Stream.dataset_id == dataset.id).order_by(Stream.name)))


def get(session: Session, dataset: Dataset, name: str) -> Stream:
    stream = session.scalar(select(Stream).where(Stream.dataset_id == dataset.id, Stream.name == name))
    if stream is None:
        raise NotFound(f"Stream '{dataset.owner}/{dataset.name}/{name}' not found.")
    return stream


def _checked_filter(dataset: Dataset, raw) -> dict:
    parsed = comment_filter.parse(raw, field="stream.comment_filter")
    parsed.source_ids(dataset.source_ids)  # every named source must be the dataset's
    return raw or {}


def _checked_model(session: Session, dataset: Dataset, model: dict | None) -> dict | None:
    if model is None:
        return None
    try:
        version = model_versions.resolve(session, dataset, str(model["version"]))
    except NotFound:
        raise InvalidInput(
            f"Invalid request: stream.model.version: the dataset has no trained model version "
            f"{model['version']}.", field="stream.model.version") from None
    known = set(version.label_names)
    for i, entry in enumerate(model["label_thresholds"]):
        name = LABEL_SEPARATOR.join(entry["name"])
        if name not in known:
            field = f"stream.model.label_thresholds.{i}.name"
            raise InvalidInput(f"Invalid request: {field}: '{name}' is not a label of model version "
                               f"{version.version}.", field=field)
    return {"version": version.version,
            "label_thresholds": [{"name": e["name"], "threshold": e["threshold"]}
                                 for e in model["label_thresholds"]]}


def create(session: Session, dataset: Dataset, fields: dict) -> Stream:
    name = fields["name"]
    if session.scalar(select(Stream.id).where(Stream.dataset_id == dataset.id, Stream.name == name)):
        raise Conflict(f"Stream '{dataset.owner}/{dataset.name}/{name}' already exists.")
    filter_ = _checked_filter(dataset, fields.get("comment_filter"))
    model = _checked_model(session, dataset, fields.get("model"))
    # A new stream starts now: after every comment there is.
    catch_up(session)
    now = utcnow()
    stream = Stream(
        dataset_id=dataset.id, name=name, title=fields.get("title") or "",
        description=fields.get("description") or "", comment_filter=filter_, model=model,
        position=last_number(session), created_at=now, updated_at=now,
    )
    session.add(stream)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"Stream '{dataset.owner}/{dataset.name}/{name}' already exists.") from None
    return stream


def update_stream(session: Session, dataset: Dataset, stream: Stream, fields: dict) -> Stream:
    """Only the given keys change; `model: null` removes the model."""
    changes = {}
    if "comment_filter" in fields:
        changes["comment_filter"] = _checked_filter(dataset, fields["comment_filter"])
    if "model" in fields:
        changes["model"] = _checked_model(session, dataset, fields["model"])
    for key in ("title", "description"):
        if key in fields:
            changes[key] = fields[key] or ""
    owned.apply_changes(stream, changes)
    session.commit()
    return stream


def delete(session: Session, stream: Stream) -> None:
    session.delete(stream)
    session.commit()


# --- consuming --------------------------------------------------------------------------

def sequence_id(stream: Stream, position: int) -> str:
    return pagination.encode(SEQUENCE_KIND, [stream.id, position])


def _position(session: Session, stream: Stream, value: str) -> int:
    key = pagination.decode(SEQUENCE_KIND, value, field="sequence_id")
    if len(key) != 2 or not isinstance(key[1], int) or isinstance(key[1], bool) or key[1] < 0:
        raise InvalidInput(f"Invalid sequence_id: '{value}' is not a cursor this route issued.",
                           field="sequence_id")
    stream_id, position = key
    if stream_id != stream.id:
        raise InvalidInput(f"Invalid sequence_id: '{value}' was issued by another stream.",
                           field="sequence_id")
    if position > last_number(session):
        raise InvalidInput(f"Invalid sequence_id: '{value}' is beyond every position handed out.",
                           field="sequence_id")
    return position


def _following(session: Session, dataset: Dataset, position: int, chunk: int, with_review: bool):
    """The dataset's comments after `position` in stream order, read `chunk` at a
    time, each with whether this dataset has reviewed it (when the filter asks)."""
    while True:
        rows = session.execute(
            select(StreamArrival.seq, *Comment.__table__.columns)
            .join(Comment, Comment.pk == StreamArrival.comment_pk)
            .where(StreamArrival.source_id.in_(dataset.source_ids), StreamArrival.seq > position)
            .order_by(StreamArrival.seq).limit(chunk)
        ).all()
        reviewed = set()
        if with_review and rows:
            reviewed = set(session.scalars(select(Labelling.comment_pk).where(
                Labelling.dataset_id == dataset.id, Labelling.comment_pk.in_([r.pk for r in rows]),
                Labelling.reviewed.is_(True))))
        for row in rows:
            yield row, row.pk in reviewed
        if len(rows) < chunk:
            return
        position = rows[-1].seq


def _model(session: Session, dataset: Dataset, stream: Stream) -> ModelVersion | None:
    if stream.model is None:
        return None
    return model_versions.resolve(session, dataset, str(stream.model["version"]))


def _labels(session: Session, dataset: Dataset, stream: Stream, model: ModelVersion, pks) -> dict:
    """Per comment, the pinned version's labels passing their stream thresholds."""
    wanted = [{"name": LABEL_SEPARATOR.join(t["name"]), "threshold": t["threshold"]}
              for t in stream.model["label_thresholds"]]
    scored = predictions.predicted_labels(session, dataset, pks, model=model)
    return {pk: predictions.select_labels(scored.get(pk, []), model, wanted=wanted) for pk in pks}


def _scan(session: Session, dataset: Dataset, stream: Stream, max_examined: int,
          max_results: int | None = None, max_filtered: int | None = None) -> dict:
    """Examine comments after the cursor until a limit is reached; those failing
    the filter are counted, the rest become results."""
    matcher = comment_filter.parse(stream.comment_filter, field="comment_filter")
    catch_up(session)
    # A fetch reads what it may examine, plus one to tell whether more follow.
    chunk = min(max_examined, SCAN_CHUNK) + 1 if max_results else max_examined + 1
    position, kept, filtered, more = stream.position, [], 0, False
    for row, reviewed in _following(session, dataset, stream.position, chunk, matcher.reviewed is not None):
        if len(kept) + filtered == max_examined or len(kept) == max_results or filtered == max_filtered:
            more = True
            break
        position = row.seq
        if matcher.matches(row, reviewed):
            kept.append(row)
        else:
            filtered += 1
    return _batch(session, dataset, stream, kept, filtered, position, not more)


def _batch(session: Session, dataset: Dataset, stream: Stream, rows, filtered: int, position: int,
           at_end: bool) -> dict:
    pks = [r.pk for r in rows]
    annotated = annotated_pks(session, pks) if pks else set()
    model = _model(session, dataset, stream)
    labels = _labels(session, dataset, stream, model, pks) if model is not None and pks else {}
    results = []
    for row in rows:
        # Markup included: a stream feeds automation, which wants the comment as uploaded.
        item = {"comment": dump_comment(row, True, row.pk in annotated),
                "sequence_id": sequence_id(stream, row.seq)}
        if model is not None:
            item["labels"] = labels[row.pk]
        results.append(item)
    return {"results": results, "filtered": filtered, "sequence_id": sequence_id(stream, position),
            "is_end_sequence": at_end}


def fetch(session: Session, dataset: Dataset, stream: Stream, size: int) -> dict:
    """The next `size` comments after the cursor; the cursor stays where it is."""
    return _scan(session, dataset, stream, max_examined=size)


def results(session: Session, dataset: Dataset, stream: Stream, max_results: int, max_filtered: int) -> dict:
    """Like fetch, but stops at `max_results` results or `max_filtered` skipped comments."""
    return _scan(session, dataset, stream, max_examined=max_results + max_filtered,
                 max_results=max_results, max_filtered=max_filtered)


def advance(session: Session, stream: Stream, value: str) -> None:
    """Move the cursor to just after `value`; never backwards (a stale advance is a no-op)."""
    position = _position(session, stream, value)
    session.execute(update(Stream).where(Stream.id == stream.id, Stream.position < position)
                    .values(position=position))
    session.commit()


def reset(session: Session, dataset: Dataset, stream: Stream, to: datetime) -> None:
    """Move the cursor to just before the first comment created at or after `to`
    (backwards as well as forwards)."""
    catch_up(session)
    first = session.scalar(select(func.min(StreamArrival.seq)).where(
        StreamArrival.source_id.in_(dataset.source_ids), StreamArrival.created_at >= to))
    position = last_number(session) if first is None else first - 1
    session.execute(update(Stream).where(Stream.id == stream.id).values(position=position))
    session.commit()


# --- exceptions -------------------------------------------------------------------------

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
    session.commit()


def remove_exceptions(session: Session, stream: Stream, uids: list[str]) -> None:
    if not uids:
        raise InvalidInput("Invalid request: uid: give at least one 'uid' query parameter.", field="uid")
    session.execute(sql_delete(StreamException).where(
        StreamException.stream_id == stream.id, StreamException.uid.in_(uids)))
    session.commit()
