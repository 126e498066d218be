"""The query route's orders and the (score, row) keys they page on: `recent`,
`sample` (a stable shuffle computed by the database), `by_label`,
`low_confidence` and the Refine queues `teach`, `check`, `missed`, `rebalance`."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from sqlalchemy import literal_column, select, tuple_
from sqlalchemy.orm import Session

from ... import pagination
from ...errors import InvalidInput
from ...models import Labelling, Comment, Dataset, ModelVersion
from ...vocabulary import LABEL_ORDERS
from ..labellings import assigned_with_parents
from ..model_versions import latest_version
from ..predictions import confidences, label_probabilities, region_shares, regions_of
from .selection import ALL_COLUMNS, Selection

# The Teach queue's pivot for a label without a held-out curve.
DEFAULT_BALANCED = 0.5


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
class Plan:
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


def plan_for(session: Session, dataset: Dataset, selection: Selection, order: dict,
          continuation: str | None) -> Plan:
    conditions = selection.conditions(session, dataset)
    kind = order["kind"]
    if kind == "recent":
        after = None
        if continuation:
            stamp, pk = pagination.decode("query-recent", continuation)
            after = (datetime.fromisoformat(stamp), pk)
        return Plan(conditions, after=after)
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
        return Plan(conditions, kind, after, None, param, model if order.get("model_version") else None)
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
    return Plan(conditions, kind, after, keys, param, model if order.get("model_version") else None)


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
