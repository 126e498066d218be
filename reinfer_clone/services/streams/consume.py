"""Consuming a stream: fetch and results (comments after the cursor, filtered,
with predictions), advance and reset."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ... import pagination
from ...errors import InvalidInput
from ...models import Labelling, Comment, Dataset, ModelVersion, Stream, StreamArrival
from ...vocabulary import LABEL_SEPARATOR
from ...wire import dump_comment
from .. import comment_filter, model_versions, predictions
from ..labellings import annotated_pks
from .arrivals import catch_up, last_number

SEQUENCE_KIND = "stream"
# Comments read per query while a results request looks for enough matches.
SCAN_CHUNK = 256


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
    session.flush()


def reset(session: Session, dataset: Dataset, stream: Stream, to: datetime) -> None:
    """Move the cursor to just before the first comment created at or after `to`
    (backwards as well as forwards)."""
    catch_up(session)
    first = session.scalar(select(func.min(StreamArrival.seq)).where(
        StreamArrival.source_id.in_(dataset.source_ids), StreamArrival.created_at >= to))
    position = last_number(session) if first is None else first - 1
    session.execute(update(Stream).where(Stream.id == stream.id).values(position=position))
    session.flush()
