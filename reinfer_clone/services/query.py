"""Dataset query, recent, statistics and summary (contract §9), and the count
behind source statistics.

A request selects comments with a CommentFilter, attribute filters and (our
extension) a search string. SQL narrows the candidates by source, time range,
review state and the search (every word and phrase, through the keyword index
of services/search.py); everything else is tested in Python a batch at a time,
and a page keeps reading batches until it holds `limit` comments or none are
left.

Orders:
* `recent`: newest `timestamp` first, ties by newest row; keyset-paged in SQL.
* `by_label`: highest probability of the label under the latest model first (an
  assigned label, parents implied, counts as 1.0; no prediction as 0.0), ties by
  oldest row. `sample`: ascending hash of (seed, comment row), a stable shuffle
  computed by the database (see `sample_key`) and keyset-paged like `recent`.
  `low_confidence`: unreviewed comments whose predictions are closest to a coin
  toss (smallest min |2p - 1|) first. The Refine queues `teach`, `check`,
  `missed` (one label) and `rebalance` are described at `_label_queue` and
  `_rebalance`. Each scores under the order's `model_version` (default the
  latest). These (not `sample`) score every candidate in Python, then page on the
  (score, row) key.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Iterator

from sqlalchemy import func, literal_column, select, tuple_
from sqlalchemy.orm import Session

from .. import pagination
from ..errors import InvalidInput
from ..models import Labelling, Comment, Dataset, ModelVersion, Source, User
from ..wire import format_datetime
from ..vocabulary import ATTACHMENT_COUNT, ATTACHMENT_TYPES, LABELS, comment_uid
from .comment_filter import CommentFilter
from .search.keywords import keyword_condition
from .labellings import annotations_for, assigned_with_parents, iter_annotated
from .model_versions import latest_version
from .predictions import confidences, label_probabilities, predicted_labels, region_shares, regions_of

DEFAULT_LIMIT = 64
MAX_LIMIT = 512
# The client's custom-label-trend-report asks for up to 150,000 rows in one CSV.
MAX_CSV_LIMIT = 150_000
# A prediction at least this probable counts as the label for an unreviewed comment.
PREDICTED_THRESHOLD = 0.5
# The Teach queue's pivot for a label without a held-out curve.
DEFAULT_BALANCED = 0.5
# Orders that name a label of the dataset.
LABEL_ORDERS = ("by_label", "teach", "check", "missed")
MAX_SUMMARY_VALUES = 100
SCAN_BATCH = 512
CSV_COLUMNS = ("uid", "id", "timestamp", "Date", "subject", "body", "labels")

ALL_COLUMNS = tuple(Comment.__table__.columns)


# --- what a request selects ---------------------------------------------------------------

@dataclass(frozen=True)
class AttributeFilter:
    attribute: str
    any_of: frozenset[str] = frozenset()
    minimum: int | None = None
    maximum: int | None = None

    @classmethod
    def of(cls, loaded: dict) -> AttributeFilter:
        spec = loaded["filter"]
        any_of = spec.get("any_of") or ()
        if loaded["attribute"] == ATTACHMENT_TYPES:
            # Extensions compare without their dot and case-insensitively.
            any_of = (e.lstrip(".").lower() for e in any_of)
        return cls(loaded["attribute"], frozenset(any_of), spec.get("minimum"), spec.get("maximum"))

    def accepts_attachments(self, attachments: list) -> bool:
        if self.attribute == ATTACHMENT_TYPES:
            return any(_extension(a.get("name", "")) in self.any_of for a in attachments)
        count = len(attachments)
        return (self.minimum is None or count >= self.minimum) and (self.maximum is None or count <= self.maximum)


def _extension(name: str) -> str:
    """`report.PDF` -> `pdf`; `a.tar.gz` -> `gz`; a name without a suffix has none."""
    return PurePosixPath(name).suffix[1:].lower()


@dataclass(frozen=True)
class Selection:
    comment_filter: CommentFilter
    attribute_filters: tuple[AttributeFilter, ...] = ()
    search: str = ""

    @classmethod
    def of(cls, comment_filter: dict | None, attribute_filters=None, search: str | None = None,
           field: str = "filter") -> Selection:
        """From what the request schemas loaded; `field` names the filter in errors."""
        return cls(
            CommentFilter.from_loaded(comment_filter, field),
            tuple(AttributeFilter.of(f) for f in attribute_filters or ()),
            search or "",
        )

    @property
    def label_filters(self) -> list[AttributeFilter]:
        return [f for f in self.attribute_filters if f.attribute == LABELS]

    @property
    def tests_rows(self) -> bool:
        """Whether some part must be tested in Python on loaded comments."""
        return self.comment_filter.tests_content or bool(self.attribute_filters)

    def conditions(self, session: Session, dataset: Dataset) -> list:
        source_ids = self.comment_filter.source_ids(dataset.source_ids)
        conditions = self.comment_filter.conditions(source_ids, dataset.id)
        if self.search:
            conditions.append(keyword_condition(session, self.search))
        return conditions

    def matches_row(self, row) -> bool:
        """Everything testable on the comment alone (labels need the dataset)."""
        if not self.comment_filter.matches_content(row):
            return False
        attachments = row.attachments or []
        return all(spec.accepts_attachments(attachments) for spec in self.attribute_filters
                   if spec.attribute in (ATTACHMENT_TYPES, ATTACHMENT_COUNT))


class RowTester:
    """Keeps the rows of a batch that pass the Python-side tests."""

    def __init__(self, session: Session, dataset: Dataset | None, selection: Selection):
        self.session = session
        self.dataset = dataset
        self.selection = selection
        self.label_filters = selection.label_filters
        self.model = latest_version(session, dataset.id) if self.label_filters else None

    def keep(self, rows: list) -> list:
        if not self.selection.tests_rows:
            return rows
        rows = [row for row in rows if self.selection.matches_row(row)]
        if not self.label_filters or not rows:
            return rows
        pks = [row.pk for row in rows]
        annotations = annotations_for(self.session, self.dataset.id, pks)
        predictions = predicted_labels(self.session, self.dataset, pks, model=self.model) if self.model else {}
        return [
            row for row in rows
            if all(_has_label(f.any_of, annotations.get(row.pk), predictions.get(row.pk, []))
                   for f in self.label_filters)
        ]


def _has_label(names: frozenset[str], annotation, predicted: list[dict]) -> bool:
    """Assigned (parents implied); or, when unreviewed, predicted probably enough."""
    if any(label["name"] in names for label in assigned_with_parents(annotation)):
        return True
    if annotation is not None and annotation.reviewed:
        return False
    return any(p["name"] in names and p["probability"] >= PREDICTED_THRESHOLD for p in predicted)


# --- orders and paging --------------------------------------------------------------------

# The shuffle's hash works on 31 bits, so that every product stays below 2**62:
# exact in SQLite's and PostgreSQL's 64-bit integers.
_SAMPLE_BITS = 31
_SAMPLE_MASK = (1 << _SAMPLE_BITS) - 1
# Python-tested selections read the shuffle in growing batches (each one is a scan).
MAX_SAMPLE_BATCH = 8192


def _xorshift(h, bits: int):
    # h XOR (h >> bits), written with | and & because SQLite has no XOR operator.
    # An inline constant: PostgreSQL has bigint >> integer, not bigint >> bigint.
    shifted = h.op(">>")(literal_column(str(int(bits))))
    return h.op("|")(shifted) - h.op("&")(shifted)


def sample_key(seed: int):
    """SQL expression: the `sample` order's key of a comment, a hash of (seed, pk).

    Evaluated by the database, so a page costs one scan of integer arithmetic and a
    top-N sort there instead of loading and hashing every candidate in Python. Each
    step (multiply by an odd number, add, xorshift, all modulo 2**31) is a bijection,
    so keys never tie for pk < 2**31 and the order is a permutation that the seed
    picks (its multipliers and offset come from a hash of the seed). One round only:
    the expression repeats its operand at each xorshift, and a second round made the
    scan four times slower."""
    digest = hashlib.blake2b(f"sample:{seed}".encode(), digest_size=12).digest()
    a, b, c = (int.from_bytes(digest[i:i + 4], "big") & _SAMPLE_MASK for i in (0, 4, 8))
    h = (Comment.pk.op("&")(_SAMPLE_MASK) * (a | 1) + b).op("&")(_SAMPLE_MASK)
    return (_xorshift(h, 16) * (c | 1)).op("&")(_SAMPLE_MASK)


def _assigned_pks(session: Session, dataset: Dataset, label: str) -> set[int]:
    rows = session.execute(
        select(Labelling.comment_pk, Labelling.labelling)
        .where(Labelling.dataset_id == dataset.id, Labelling.reviewed.is_(True))
    )
    return {row.comment_pk for row in rows if any(a["name"] == label for a in assigned_with_parents(row))}


@dataclass
class _Plan:
    """Where a read starts and in which order it goes on."""

    conditions: list
    kind: str = "recent"
    after: tuple | None = None
    # Computed orders: comment pk -> ascending sort key, and the order's label or seed.
    keys: dict[int, tuple] | None = None
    param: str | int | None = None
    # The model whose predictions the page shows (None: the latest).
    model: ModelVersion | None = None

    def batches(self, session: Session, size: int, columns=ALL_COLUMNS) -> Iterator[list]:
        if self.kind == "sample":
            yield from self._sampled(session, size, columns)
            return
        if self.keys is None:
            yield from self._recent(session, size, columns)
            return
        ordered = sorted((pk for pk, key in self.keys.items() if self.after is None or key > self.after),
                         key=self.keys.__getitem__)
        for start in range(0, len(ordered), size):
            chunk = ordered[start:start + size]
            # The conditions again: a comment may have changed since it was scored.
            found = {row.pk: row for row in session.execute(
                select(*columns).where(Comment.pk.in_(chunk), *self.conditions))}
            yield [found[pk] for pk in chunk if pk in found]

    def _recent(self, session: Session, size: int, columns) -> Iterator[list]:
        query = select(*columns).where(*self.conditions).order_by(Comment.timestamp.desc(), Comment.pk.desc())
        after = self.after
        while True:
            page = query if after is None else query.where(tuple_(Comment.timestamp, Comment.pk) < after)
            rows = session.execute(page.limit(size)).all()
            if rows:
                yield rows
            if len(rows) < size:
                return
            after = (rows[-1].timestamp, rows[-1].pk)

    def _sampled(self, session: Session, size: int, columns) -> Iterator[list]:
        key = sample_key(self.param).label("sample_key")
        # Keys first, on narrow rows (an index covers them), then the page's columns.
        query = select(Comment.pk, key).where(*self.conditions).order_by(key, Comment.pk)
        after = self.after
        while True:
            page = query if after is None else query.where(tuple_(key, Comment.pk) > after)
            keyed = session.execute(page.limit(size)).all()
            if keyed:
                pks = [row.pk for row in keyed]
                # The rows carry their key too, for the cursor.
                found = {row.pk: row for row in session.execute(select(*columns, key).where(Comment.pk.in_(pks)))}
                yield [found[pk] for pk in pks if pk in found]  # one deleted meanwhile is skipped
            if len(keyed) < size:
                return
            after = (keyed[-1].sample_key, keyed[-1].pk)
            # A batch scans every candidate: grow them when the caller keeps asking.
            size = min(2 * size, max(size, MAX_SAMPLE_BATCH))

    def cursor(self, row) -> str:
        if self.kind == "recent":
            return pagination.encode("query-recent", [row.timestamp.isoformat(), row.pk])
        if self.kind == "sample":
            return pagination.encode("query-sample", [self.param, row.sample_key, row.pk])
        score = self.keys[row.pk][0]
        if self.kind == "by_label":
            score = -score
        return pagination.encode(f"query-{self.kind}", [self.param, score, row.pk])


def _plan(session: Session, dataset: Dataset, selection: Selection, order: dict,
          continuation: str | None) -> _Plan:
    conditions = selection.conditions(session, dataset)
    kind = order["kind"]
    if kind == "recent":
        after = None
        if continuation:
            stamp, pk = pagination.decode("query-recent", continuation)
            after = (datetime.fromisoformat(stamp), pk)
        return _Plan(conditions, after=after)
    model = _order_model(session, dataset, order)
    if kind in LABEL_ORDERS:
        param = order["label"]
        if param not in {d.name for d in dataset.label_defs}:
            raise InvalidInput(f"Invalid request: order.label: '{param}' is not a label of this dataset.",
                               field="order.label")
    elif kind == "sample":
        param = order["seed"]
    else:
        param = ""
    after = None
    if continuation:
        given, score, pk = pagination.decode(f"query-{kind}", continuation)
        if given != param:
            raise InvalidInput("Invalid continuation: it was issued for another order.", field="continuation")
        after = (-score if kind == "by_label" else score, pk)
    if kind == "sample":
        return _Plan(conditions, kind, after, None, param, model if order.get("model_version") else None)
    pks = session.scalars(select(Comment.pk).where(*conditions)).all()
    if kind == "by_label":
        probabilities = label_probabilities(session, dataset, param, model)
        assigned = _assigned_pks(session, dataset, param)
        keys = {pk: (-(1.0 if pk in assigned else float(probabilities.get(pk, 0.0))), pk) for pk in pks}
    elif kind in ("teach", "check", "missed"):
        keys = _label_queue(session, dataset, model, kind, param, pks)
    elif kind == "rebalance":
        keys = _rebalance(session, dataset, model, pks)
    else:
        # Unreviewed comments the model is least sure of, first.
        sure = confidences(session, dataset, model)
        reviewed = _reviewed_pks(session, dataset)
        keys = {pk: (float(sure.get(pk, 0.0)), pk) for pk in pks if pk not in reviewed}
    return _Plan(conditions, kind, after, keys, param, model if order.get("model_version") else None)


def _order_model(session: Session, dataset: Dataset, order: dict) -> ModelVersion | None:
    """The order's pinned `model_version`, else the latest (None: no model yet)."""
    number = order.get("model_version")
    if number is None:
        return latest_version(session, dataset.id)
    model = session.scalar(select(ModelVersion).where(ModelVersion.dataset_id == dataset.id,
                                                      ModelVersion.version == number))
    if model is None:
        raise InvalidInput(f"Invalid request: order.model_version: the dataset has no model version {number}.",
                           field="order.model_version")
    return model


def _reviewed_pks(session: Session, dataset: Dataset) -> set[int]:
    return set(session.scalars(select(Labelling.comment_pk).where(
        Labelling.dataset_id == dataset.id, Labelling.reviewed.is_(True))))


def balanced_threshold(model: ModelVersion | None, label: str) -> float:
    """The label's balanced auto threshold (best held-out F1), 0.5 without one."""
    if model is None:
        return DEFAULT_BALANCED
    entry = next((v for v in model.validation.get("labels", []) if v["name"] == label), None)
    return float(((entry or {}).get("auto_thresholds") or {}).get("balanced", DEFAULT_BALANCED))


def _rebalance(session: Session, dataset: Dataset, model: ModelVersion | None, pks) -> dict[int, tuple]:
    """Unreviewed comments, those of the regions the reviewed set covers least
    (the lowest reviewed share / dataset share, counted now from the stored
    predictions) first, oldest first within a region. Regions are the clusters
    the model version found at training time; a version without them (trained
    before they existed) or no model: one region, so oldest first."""
    reviewed = _reviewed_pks(session, dataset)
    ratio, region = {}, {}
    if model is not None:
        region = regions_of(session, dataset, model)
        ratio = region_shares(region, reviewed)
    return {pk: (round(float(ratio.get(region.get(pk), 0.0)), 6), pk) for pk in pks if pk not in reviewed}


def _label_queue(session: Session, dataset: Dataset, model: ModelVersion | None, kind: str, label: str,
                 pks) -> dict[int, tuple]:
    """Refine queues of one label (contract §20), ascending keys:
    * teach: unreviewed, |p - balanced threshold| (the model is least sure);
    * check: reviewed and carrying the label (parents implied), p (lowest first);
    * missed: reviewed without it, -p (highest first).
    p is the label's probability under the order's model, 0 without a prediction."""
    probabilities = label_probabilities(session, dataset, label, model) if model is not None else {}
    if kind == "teach":
        reviewed = _reviewed_pks(session, dataset)
        threshold = balanced_threshold(model, label)
        return {pk: (abs(float(probabilities.get(pk, 0.0)) - threshold), pk) for pk in pks if pk not in reviewed}
    reviewed = _reviewed_pks(session, dataset)
    carrying = _assigned_pks(session, dataset, label)
    if kind == "check":
        return {pk: (float(probabilities.get(pk, 0.0)), pk) for pk in pks if pk in carrying}
    return {pk: (-float(probabilities.get(pk, 0.0)), pk) for pk in pks if pk in reviewed and pk not in carrying}


def _limit(limit: int | None, maximum: int) -> int:
    return DEFAULT_LIMIT if limit is None else min(limit, maximum)


def _batch_size(selection: Selection, limit: int) -> int:
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
    limit = predicted_page_size(session, dataset, _limit(limit, MAX_LIMIT), max_predicted_labels)
    plan = _plan(session, dataset, selection, order, continuation)
    tester = RowTester(session, dataset, selection)
    rows: list = []
    for batch in plan.batches(session, _batch_size(selection, limit)):
        rows.extend(tester.keep(batch))
        if len(rows) > limit:
            rows = rows[:limit]
            return iter_annotated(session, dataset, rows, with_predictions=True, model=plan.model), \
                plan.cursor(rows[-1])
    return iter_annotated(session, dataset, rows, with_predictions=True, model=plan.model), None


# --- CSV ----------------------------------------------------------------------------------

def csv_lines(session: Session, dataset: Dataset, selection: Selection, order: dict,
              limit: int | None = None, continuation: str | None = None) -> Iterator[str]:
    """Matching comments as CSV text, in chunks: `uid, id, timestamp, Date, subject,
    body, labels`, then one column per label of the `default` group holding the
    latest model's probability (empty when the dataset has no model). `Date`
    repeats `timestamp` under the name the client's trend report reads; `labels`
    is a JSON array of the assigned labels, parents implied.

    Validation happens now; the rows are read while the caller consumes the
    iterator, on a session of its own (a streamed response outlives the request's)."""
    limit = _limit(limit, MAX_CSV_LIMIT)
    plan = _plan(session, dataset, selection, order, continuation)
    label_names = [d.name for d in dataset.label_defs]
    return _csv_lines(session.get_bind(), dataset, selection, plan, limit, label_names)


def _csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _csv_lines(bind, dataset: Dataset, selection: Selection, plan: _Plan, limit: int,
               label_names: list[str]) -> Iterator[str]:
    yield _csv_text([[*CSV_COLUMNS, *label_names]])
    with Session(bind) as session:
        tester = RowTester(session, dataset, selection)
        model = latest_version(session, dataset.id)
        left = limit
        for batch in plan.batches(session, min(_batch_size(selection, limit), 2048)):
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


# --- statistics and summary ---------------------------------------------------------------

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
    for batch in _Plan(conditions).batches(session, SCAN_BATCH, ALL_COLUMNS if selection.tests_rows else columns):
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
