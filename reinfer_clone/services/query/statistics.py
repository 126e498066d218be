"""Dataset statistics and summary (contract §9.2, §9.3), and the count behind
source statistics."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Labelling, Comment, Dataset, Source, User
from ..comment_filter import CommentFilter
from ..labellings import annotations_for, assigned_with_parents
from .orders import Plan
from .selection import ALL_COLUMNS, SCAN_BATCH, RowTester, Selection

MAX_SUMMARY_VALUES = 100


def _period(stamp: datetime, resolution: str) -> str:
    day = stamp.date()
    if resolution == "week":
        day -= timedelta(days=day.weekday())
    elif resolution == "month":
        day = day.replace(day=1)
    return day.isoformat()


def _matching(session: Session, dataset: Dataset | None, selection: Selection, conditions: list,
              columns) -> Iterator[list]:
    """Every matching comment, a batch at a time (in no order a caller may rely on)."""
    tester = RowTester(session, dataset, selection)
    for batch in Plan(conditions).batches(session, SCAN_BATCH, ALL_COLUMNS if selection.tests_rows else columns):
        kept = tester.keep(batch)
        if kept:
            yield kept


def _count(session: Session, dataset: Dataset | None, selection: Selection, conditions: list) -> int:
    if not selection.tests_rows:
        return session.scalar(select(func.count()).select_from(Comment).where(*conditions))
    return sum(len(rows) for rows in _matching(session, dataset, selection, conditions, ALL_COLUMNS))


def reviewed_by_user(session: Session, dataset: Dataset, selection: Selection, conditions: list) -> list[dict]:
    """Reviewed comments matching the selection, counted by who labelled them
    last: [{user_id, username, num_reviewed}], most first; `user_id` null for
    labellings written before attribution was recorded."""
    counts: Counter = Counter()
    if selection.tests_rows:
        for rows in _matching(session, dataset, selection, conditions, (Comment.pk, Comment.timestamp)):
            counts.update(a.updated_by for a in annotations_for(session, dataset.id, [r.pk for r in rows]).values()
                          if a.reviewed)
    else:
        counts.update(dict(session.execute(
            select(Labelling.updated_by, func.count()).join(Comment, Comment.pk == Labelling.comment_pk)
            .where(Labelling.dataset_id == dataset.id, Labelling.reviewed.is_(True), *conditions)
            .group_by(Labelling.updated_by)).all()))
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_([u for u in counts if u]))).all())
    return [{"user_id": user, "username": names.get(user), "num_reviewed": int(n)}
            for user, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or ""))]


def statistics(session: Session, dataset: Dataset, selection: Selection, label_counts: bool = False,
               resolution: str | None = None, by_user: bool = False) -> dict:
    """`num_comments`; with `label_counts`, assigned labels (parents implied) by
    sentiment; with a `resolution`, the label time series: one row per period
    holding comments, `[period start, comments, count of each label]`, periods
    ascending, labels in the order of `label_timeseries_labels`."""
    conditions = selection.conditions(session, dataset)
    if by_user:
        # Extension: reviewed comments per user, beside whatever else was asked.
        out = statistics(session, dataset, selection, label_counts, resolution)
        return {**out, "reviewed_by_user": reviewed_by_user(session, dataset, selection, conditions)}
    if not label_counts and resolution is None:
        return {"num_comments": _count(session, dataset, selection, conditions)}
    total = 0
    counts: dict[str, dict[str, int]] = {d.name: {"positive": 0, "negative": 0} for d in dataset.label_defs}
    series: dict[str, Counter] = {}
    for rows in _matching(session, dataset, selection, conditions, (Comment.pk, Comment.timestamp)):
        total += len(rows)
        annotations = annotations_for(session, dataset.id, [row.pk for row in rows])
        for row in rows:
            labels = assigned_with_parents(annotations.get(row.pk))
            for label in labels:
                counts.setdefault(label["name"], {"positive": 0, "negative": 0})[label["sentiment"]] += 1
            if resolution is not None:
                period = series.setdefault(_period(row.timestamp, resolution), Counter())
                period[None] += 1
                period.update(label["name"] for label in labels)
    out: dict = {"num_comments": total}
    if label_counts:
        out["label_counts"] = counts
    if resolution is not None:
        names = list(counts)
        out["label_timeseries"] = [
            [period, series[period][None], *(series[period][name] for name in names)]
            for period in sorted(series)
        ]
        out["label_timeseries_labels"] = names
    return out


def summary(session: Session, dataset: Dataset, selection: Selection) -> dict:
    """User property names of matching comments; for string properties, also their
    most frequent values (at most MAX_SUMMARY_VALUES, by frequency then value)."""
    conditions = selection.conditions(session, dataset)
    strings: dict[str, Counter] = {}
    numbers: set[str] = set()
    columns = (Comment.pk, Comment.timestamp, Comment.user_properties)
    for rows in _matching(session, dataset, selection, conditions, columns):
        for row in rows:
            for name, value in (row.user_properties or {}).items():
                if name.startswith("string:"):
                    strings.setdefault(name, Counter())[value] += 1
                else:
                    numbers.add(name)
    return {"user_properties": {
        "string": [
            {"full_name": name, "values": [
                {"value": value, "count": count}
                for value, count in sorted(strings[name].items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SUMMARY_VALUES]
            ]}
            for name in sorted(strings)
        ],
        "number": [{"full_name": name} for name in sorted(numbers)],
    }}


def source_statistics(session: Session, source: Source, comment_filter: CommentFilter) -> dict:
    """Source statistics (contract §9.2): comments of one source matching a filter
    without review state."""
    source_ids = comment_filter.source_ids([source.id], scope="source")
    conditions = comment_filter.conditions(source_ids, None)
    return {"num_comments": _count(session, None, Selection(comment_filter), conditions)}
