"""A query's matching comments as CSV text, streamed in chunks."""
from __future__ import annotations

import csv
import io
import json
from typing import Iterator

from sqlalchemy.orm import Session

from ...models import Dataset
from ...wire import format_datetime
from ...vocabulary import comment_uid
from ..labellings import annotations_for, assigned_with_parents
from ..model_versions import latest_version
from ..predictions import predicted_labels
from .orders import Plan, plan_for
from .pages import batch_size, clamp_limit
from .selection import RowTester, Selection

# The client's custom-label-trend-report asks for up to 150,000 rows in one CSV.
MAX_CSV_LIMIT = 150_000
CSV_COLUMNS = ("uid", "id", "timestamp", "Date", "subject", "body", "labels")


def csv_lines(session: Session, dataset: Dataset, selection: Selection, order: dict,
              limit: int | None = None, continuation: str | None = None) -> Iterator[str]:
    """Matching comments as CSV text, in chunks: `uid, id, timestamp, Date, subject,
    body, labels`, then one column per label of the `default` group holding the
    latest model's probability (empty when the dataset has no model). `Date`
    repeats `timestamp` under the name the client's trend report reads; `labels`
    is a JSON array of the assigned labels, parents implied.

    Validation happens now; the rows are read while the caller consumes the
    iterator, on a session of its own (a streamed response outlives the request's)."""
    limit = clamp_limit(limit, MAX_CSV_LIMIT)
    plan = plan_for(session, dataset, selection, order, continuation)
    label_names = [d.name for d in dataset.label_defs]
    return _csv_lines(session.get_bind(), dataset, selection, plan, limit, label_names)


def _csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _csv_lines(bind, dataset: Dataset, selection: Selection, plan: Plan, limit: int,
               label_names: list[str]) -> Iterator[str]:
    yield _csv_text([[*CSV_COLUMNS, *label_names]])
    with Session(bind) as session:
        tester = RowTester(session, dataset, selection)
        model = latest_version(session, dataset.id)
        left = limit
        for batch in plan.batches(session, min(batch_size(selection, limit), 2048)):
            rows = tester.keep(batch)[:left]
            if not rows:
                continue
            pks = [row.pk for row in rows]
            annotations = annotations_for(session, dataset.id, pks)
            predictions = predicted_labels(session, dataset, pks, model=model) if model else {}
            yield _csv_text([_csv_row(row, annotations.get(row.pk), predictions.get(row.pk), label_names)
                             for row in rows])
            left -= len(rows)
            if left <= 0:
                return


def _csv_row(row, annotation, predicted: list[dict] | None, label_names: list[str]) -> list:
    messages = row.messages or []
    subject = next((m["subject"]["text"] for m in messages if isinstance(m.get("subject"), dict)
                    and m["subject"].get("text")), "")
    body = "\n\n".join(m["body"]["text"] for m in messages if isinstance(m.get("body"), dict))
    stamp = format_datetime(row.timestamp)
    assigned = [label["name"] for label in assigned_with_parents(annotation)]
    out = [comment_uid(row.source_id, row.external_id), row.external_id, stamp, stamp, subject, body,
           json.dumps(assigned, ensure_ascii=False)]
    probabilities = None if predicted is None else {p["name"]: p["probability"] for p in predicted}
    for name in label_names:
        out.append("" if probabilities is None else repr(float(probabilities.get(name, 0.0))))
    return out
