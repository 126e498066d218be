"""One page of a query: the order's plan read a batch at a time, the rows the
selection keeps, and their AnnotatedComments a chunk at a time."""
from __future__ import annotations


from sqlalchemy.orm import Session

from ...models import Dataset
from ..labellings import iter_annotated
from ..model_versions import latest_version
from .orders import plan_for
from .selection import SCAN_BATCH, RowTester, Selection

DEFAULT_LIMIT = 64
MAX_LIMIT = 512


def clamp_limit(limit: int | None, maximum: int) -> int:
    return DEFAULT_LIMIT if limit is None else min(limit, maximum)


def batch_size(selection: Selection, limit: int) -> int:
    # Without Python tests one query of limit + 1 rows tells whether more follow.
    return max(limit + 1, SCAN_BATCH) if selection.tests_rows else limit + 1


def predicted_page_size(session: Session, dataset: Dataset, limit: int, max_predicted_labels: int | None) -> int:
    """`limit`, shrunk so that a page's predictions (every label of the latest
    model for each comment) hold at most `max_predicted_labels`; the client
    follows the continuation for the rest."""
    model = latest_version(session, dataset.id) if max_predicted_labels else None
    if model is None or not model.label_names:
        return limit
    return min(limit, max(1, max_predicted_labels // len(model.label_names)))


def page(session: Session, dataset: Dataset, selection: Selection, order: dict,
         limit: int | None = None, continuation: str | None = None,
         max_predicted_labels: int | None = None):
    """One page of AnnotatedComments (an iterator, for the caller to encode as
    they come) and the continuation, present iff more match."""
    limit = predicted_page_size(session, dataset, clamp_limit(limit, MAX_LIMIT), max_predicted_labels)
    plan = plan_for(session, dataset, selection, order, continuation)
    tester = RowTester(session, dataset, selection)
    rows: list = []
    for batch in plan.batches(session, batch_size(selection, limit)):
        rows.extend(tester.keep(batch))
        if len(rows) > limit:
            rows = rows[:limit]
            return iter_annotated(session, dataset, rows, with_predictions=True, model=plan.model), \
                plan.cursor(rows[-1])
    return iter_annotated(session, dataset, rows, with_predictions=True, model=plan.model), None
