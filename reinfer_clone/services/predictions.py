"""Predictions of a dataset's model versions for its comments.

Stored per (model version, comment): computed for the whole dataset after
training, and on first read for comments that arrived later. Names are full
`" > "` paths; every list obeys the hierarchy rule (contract §11.2) and is
sorted by descending probability.
"""
from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ..db import insert_for
from ..errors import InvalidInput, NotFound, TooLarge
from ..models import Comment, Dataset, ModelVersion, StoredPrediction
from . import ml
from .model_versions import latest_version
from ..vocabulary import LABEL_SEPARATOR, label_ancestors, parse_uid

# Comments scored per batch: one embedding call and one insert each.
SCORE_BATCH = 256


def as_dicts(predictions) -> list[dict]:
    """classifier.Prediction objects as stored JSON."""
    out = []
    for p in predictions:
        item = {"name": p.name, "probability": float(p.probability)}
        if p.sentiment is not None:
            item["sentiment"] = float(p.sentiment)
        out.append(item)
    return out


def score(session: Session, model: ModelVersion, comments) -> dict[int, list[dict]]:
    """Predict and store the predictions of `model` for comment rows (with `pk`
    and `messages`). Writes go through a session of their own, so the caller's
    transaction stays read-only."""
    if not comments:
        return {}
    label_model = ml.load_model(session, model)
    texts = [ml.classifier().comment_text(c.messages) for c in comments]
    centroids = session.scalar(select(ModelVersion.regions).where(ModelVersion.pk == model.pk))
    with Session(bind=session.get_bind()) as writer:
        embeddings = ml.classifier().embed_cached(ml.embedder_for(label_model), texts,
                                                  ml.SqlEmbeddingCache(writer))
        # A comment with no subject or body text has nothing to predict from: no labels.
        scored = {
            c.pk: as_dicts(labels) if text else []
            for c, text, labels in zip(comments, texts, label_model.predict_embedded(texts, embeddings))
        }
        regions = [None] * len(comments)
        if centroids:
            from ..classifier.rating import assign

            regions = assign(np.asarray(centroids, dtype=np.float32), embeddings).tolist()
        region_of = {c.pk: region for c, region in zip(comments, regions)}
        insert = insert_for(writer)
        writer.execute(
            insert(StoredPrediction)
            .values([{"model_pk": model.pk, "comment_pk": pk, "labels": labels, "region": region_of[pk]}
                     for pk, labels in scored.items()])
            .on_conflict_do_nothing()
        )
        writer.commit()
    return scored


def predicted_labels(session: Session, dataset: Dataset, comment_pks,
                     model: ModelVersion | None = None) -> dict[int, list[dict]]:
    """Predictions of `model` (default: the latest version) for the given
    comments, scoring any not scored yet; empty when the dataset has no model."""
    model = model or latest_version(session, dataset.id)
    pks = list(comment_pks)
    if model is None or not pks:
        return {}
    found = dict(session.execute(
        select(StoredPrediction.comment_pk, StoredPrediction.labels).where(
            StoredPrediction.model_pk == model.pk, StoredPrediction.comment_pk.in_(pks)
        )
    ).all())
    missing = [pk for pk in pks if pk not in found]
    if missing:
        rows = session.execute(select(Comment.pk, Comment.messages).where(Comment.pk.in_(missing))).all()
        found.update(score(session, model, rows))
    return found


def score_all(session: Session, dataset: Dataset, model: ModelVersion, progress=None) -> int:
    """Score every comment of the dataset's sources that `model` has not scored."""
    done, after = 0, 0
    while True:
        # Keyset on pk, so rows scored by this loop are never read again, whatever
        # the snapshot of the caller's transaction shows.
        rows = session.execute(
            select(Comment.pk, Comment.messages)
            .where(Comment.source_id.in_(dataset.source_ids), Comment.pk > after)
            .where(~exists().where(StoredPrediction.model_pk == model.pk,
                                   StoredPrediction.comment_pk == Comment.pk))
            .order_by(Comment.pk).limit(SCORE_BATCH)
        ).all()
        if not rows:
            return done
        score(session, model, rows)
        done += len(rows)
        after = rows[-1].pk
        if progress:
            progress(done)


def _scored(session: Session, dataset: Dataset, model: ModelVersion | None) -> ModelVersion | None:
    """`model` (default latest) once it has scored every comment of the dataset;
    None without a model."""
    model = model or latest_version(session, dataset.id)
    if model is not None:
        score_all(session, dataset, model)
    return model


def _dataset_rows(session: Session, dataset: Dataset, model: ModelVersion, *columns):
    """`columns` of the stored predictions of `model` for the dataset's comments."""
    return session.execute(
        select(*columns)
        .join(Comment, Comment.pk == StoredPrediction.comment_pk)
        .where(StoredPrediction.model_pk == model.pk, Comment.source_id.in_(dataset.source_ids))
    )


class _ScoreTable:
    """A version's stored probabilities as one float64 matrix (comments x labels,
    NaN where a comment's list lacks the label). The queues read every comment's
    probabilities on each page; decoding 100k JSON lists took seconds per page,
    so each process keeps the decoded matrix and rebuilds it when the stored rows
    change (their count or highest comment pk)."""

    def __init__(self, stamp, pks: np.ndarray, matrix: np.ndarray, column: dict[str, int], regions: list):
        self.stamp, self.pks, self.matrix, self.column, self.regions = stamp, pks, matrix, column, regions

    def regions_of(self) -> dict[int, int | None]:
        return dict(zip(self.pks.tolist(), self.regions))

    def probabilities(self, label: str) -> dict[int, float]:
        i = self.column.get(label)
        if i is None:
            return dict.fromkeys(self.pks.tolist(), 0.0)
        return dict(zip(self.pks.tolist(), np.nan_to_num(self.matrix[:, i], nan=0.0).tolist()))

    def confidences(self) -> dict[int, float]:
        sure = np.abs(2 * self.matrix - 1)
        known = ~np.isnan(sure)
        smallest = np.where(known, sure, np.inf).min(axis=1, initial=np.inf)
        return dict(zip(self.pks.tolist(), np.where(np.isfinite(smallest), smallest, 1.0).tolist()))


# Matrices kept per process: at most this many cells in all (8 bytes each: the
# stored float64 values exactly, so queue order matches the returned predictions).
SCORE_TABLE_CELLS = 8_000_000
_score_tables: dict[tuple, _ScoreTable] = {}
_score_tables_lock = threading.Lock()


def _score_table(session: Session, dataset: Dataset, model: ModelVersion) -> _ScoreTable | None:
    """The matrix of a scored `model` (`_scored`) over the dataset's comments;
    None when it would exceed the budget (the callers then decode row by row)."""
    names = list(model.label_names)
    # The version's own identity, not its pk alone: pks repeat across databases.
    key = (str(session.get_bind().url), model.pk, model.dataset_id, model.version, tuple(dataset.source_ids))
    count, highest = session.execute(
        select(func.count(), func.max(StoredPrediction.comment_pk)).where(StoredPrediction.model_pk == model.pk)
    ).one()
    stamp = (count, highest)
    if count * max(len(names), 1) > SCORE_TABLE_CELLS:
        return None
    with _score_tables_lock:
        table = _score_tables.get(key)
    if table is not None and table.stamp == stamp:
        return table
    column = {name: i for i, name in enumerate(names)}
    pks, regions, matrix = [], [], np.full((count, max(len(names), 1)), np.nan)
    rows = _dataset_rows(session, dataset, model,
                         StoredPrediction.comment_pk, StoredPrediction.labels, StoredPrediction.region)
    for row, (pk, labels, region) in enumerate(rows):
        if row >= count:  # rows stored since the count: the next read rebuilds
            break
        pks.append(pk)
        regions.append(region)
        for item in labels:
            i = column.get(item["name"])
            if i is not None:
                matrix[row, i] = item["probability"]
    table = _ScoreTable(stamp, np.asarray(pks, dtype=np.int64), matrix[:len(pks)], column, regions)
    with _score_tables_lock:
        cells = sum(t.matrix.size for k, t in _score_tables.items() if k != key)
        while _score_tables and cells + table.matrix.size > SCORE_TABLE_CELLS:
            dropped = _score_tables.pop(next(iter(_score_tables)))
            cells -= dropped.matrix.size
        _score_tables.pop(key, None)
        _score_tables[key] = table
    return table


def label_probabilities(session: Session, dataset: Dataset, label: str,
                        model: ModelVersion | None = None) -> dict[int, float]:
    """comment pk -> probability of `label` under `model` (default latest), for
    every comment of the dataset (scoring the ones not scored yet)."""
    model = _scored(session, dataset, model)
    if model is None:
        return {}
    table = _score_table(session, dataset, model)
    if table is not None:
        return table.probabilities(label)
    return {pk: next((x["probability"] for x in labels if x["name"] == label), 0.0)
            for pk, labels in _dataset_rows(session, dataset, model, StoredPrediction.comment_pk,
                                            StoredPrediction.labels)}


def confidences(session: Session, dataset: Dataset, model: ModelVersion | None = None) -> dict[int, float]:
    """comment pk -> how sure `model` (default latest) is of it: the smallest
    |2p - 1| over its labels (0 = some label is a coin toss), for every comment of
    the dataset. The Teach queue shows the smallest first."""
    model = _scored(session, dataset, model)
    if model is None:
        return {}
    table = _score_table(session, dataset, model)
    if table is not None:
        return table.confidences()
    return {pk: min((abs(2 * x["probability"] - 1) for x in labels), default=1.0)
            for pk, labels in _dataset_rows(session, dataset, model, StoredPrediction.comment_pk,
                                            StoredPrediction.labels)}


def region_shares(regions: dict[int, int | None], reviewed_pks: set[int]) -> dict[int | None, float]:
    """region -> (share of the reviewed comments in it) / (share of all comments
    in it), given every comment's region (`regions_of`). Below 1: the reviewed
    set under-represents the region."""
    everything, reviewed = {}, {}
    for pk, region in regions.items():
        everything[region] = everything.get(region, 0) + 1
        if pk in reviewed_pks:
            reviewed[region] = reviewed.get(region, 0) + 1
    total, total_reviewed = sum(everything.values()), sum(reviewed.values())
    if not total or not total_reviewed:
        return {region: 0.0 for region in everything}
    return {region: (reviewed.get(region, 0) / total_reviewed) / (count / total)
            for region, count in everything.items()}


def regions_of(session: Session, dataset: Dataset, model: ModelVersion) -> dict[int, int | None]:
    """comment pk -> region under `model`, for every comment of the dataset
    (scoring the ones not scored yet)."""
    model = _scored(session, dataset, model)
    table = _score_table(session, dataset, model)
    if table is not None:
        return table.regions_of()
    return dict(_dataset_rows(session, dataset, model, StoredPrediction.comment_pk, StoredPrediction.region).all())


# Where held-out data gave a label no curve, "auto" falls back to this.
DEFAULT_AUTO = {"balanced": 0.5}


def predicted_label(item: dict, auto: list[str] | None = None) -> dict:
    """A stored prediction as a PredictedLabel (§11.1), name in list form."""
    out = {"name": item["name"].split(LABEL_SEPARATOR), "probability": item["probability"]}
    if "sentiment" in item:
        out["sentiment"] = item["sentiment"]
    if auto is not None:
        out["auto_thresholds"] = auto
    return out


def check_label_filter(model: ModelVersion, wanted: list[dict] | None) -> None:
    known = set(model.label_names)
    for i, entry in enumerate(wanted or []):
        if entry["name"] not in known:
            raise InvalidInput(f"labels.{i}.name: '{entry['name']}' is not a label of model version "
                               f"{model.version}.", field=f"labels.{i}.name")


def select_labels(labels: list[dict], model: ModelVersion, threshold=None,
                  wanted: list[dict] | None = None) -> list[dict]:
    """The labels of one prediction that pass the request's thresholds, as
    PredictedLabels; a kept child always brings its ancestors (§11.2)."""
    by_name = {item["name"]: item for item in labels}
    auto = {}
    if threshold == "auto":
        curves = {v["name"]: v.get("auto_thresholds") or DEFAULT_AUTO
                  for v in model.validation.get("labels", [])}
        for item in labels:
            limits = curves.get(item["name"], DEFAULT_AUTO)
            auto[item["name"]] = sorted(k for k, t in limits.items() if item["probability"] >= t)
    if wanted is not None:
        keep = {w["name"] for w in wanted
                if w["name"] in by_name and by_name[w["name"]]["probability"] >= w["threshold"]}
    elif threshold == "auto":
        keep = {name for name, passed in auto.items() if passed}
    elif threshold is not None:
        keep = {item["name"] for item in labels if item["probability"] >= threshold}
    else:
        keep = set(by_name)
    keep |= {a for name in keep for a in label_ancestors(name) if a in by_name}
    return [predicted_label(item, auto.get(item["name"], []) if threshold == "auto" else None)
            for item in labels if item["name"] in keep]


# (text, label) pairs scored at once: a request's memory is this chunk (and its
# encoded answer), however many documents times labels it asks for.
SCORE_CELLS = 65_536


def _chunks(items: list, model: ModelVersion):
    size = max(1, SCORE_CELLS // max(1, len(model.label_names)))
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _AnswerBudget:
    """At most `limit` predicted labels in one answer (REINFER_CLONE_MAX_PREDICTED_LABELS):
    refused up front when every label is returned, else counted as labels pass
    the thresholds."""

    def __init__(self, model: ModelVersion, count: int, every_label: bool, limit: int):
        self.limit, self.used = limit, 0
        if every_label and count * len(model.label_names) > limit:
            raise self._error(f"{count} x {len(model.label_names)} labels of model version "
                              f"{model.version} = {count * len(model.label_names)}")

    def _error(self, detail: str) -> TooLarge:
        return TooLarge(f"The answer would hold more than {self.limit} predicted labels "
                        f"(REINFER_CLONE_MAX_PREDICTED_LABELS): {detail}. Send fewer documents, "
                        f"or a threshold or label filter.", limit="REINFER_CLONE_MAX_PREDICTED_LABELS")

    def spend(self, labels: list) -> list:
        self.used += len(labels)
        if self.used > self.limit:
            raise self._error("the labels passing the thresholds exceed it")
        return labels


def predict_comments(session: Session, dataset: Dataset, model: ModelVersion, uids: list[str],
                     threshold=None, wanted: list[dict] | None = None, *, limit: int):
    """One prediction per uid, in request order (the client zips them with its page).
    Every uid is checked before anything is scored; the predictions are then
    produced chunk by chunk, for the caller to encode as they come."""

    check_label_filter(model, wanted)
    keys = []
    for i, uid in enumerate(uids):
        source_id, external_id = parse_uid(uid)
        if source_id not in dataset.source_ids:
            raise InvalidInput(f"uids.{i}: '{uid}' is not in a source of this dataset.", field=f"uids.{i}")
        keys.append((source_id, external_id))
    found = {}
    for source_id in {s for s, _ in keys}:
        ids = [e for s, e in keys if s == source_id]
        for pk, external_id in session.execute(
            select(Comment.pk, Comment.external_id)
            .where(Comment.source_id == source_id, Comment.external_id.in_(ids))
        ):
            found[(source_id, external_id)] = pk
    for uid, key in zip(uids, keys):
        if key not in found:
            raise NotFound(f"Comment '{uid}' not found.")
    budget = _AnswerBudget(model, len(uids), threshold is None and wanted is None, limit)
    return _predicted_comments(session, dataset, model, list(zip(uids, (found[k] for k in keys))),
                               threshold, wanted, budget)


def _predicted_comments(session, dataset, model, uid_pks, threshold, wanted, budget):
    for chunk in _chunks(uid_pks, model):
        scored = predicted_labels(session, dataset, {pk for _, pk in chunk}, model)
        for uid, pk in chunk:
            yield {"uid": uid, "labels": budget.spend(select_labels(scored[pk], model, threshold, wanted)),
                   "entities": []}


def predict_documents(session: Session, model: ModelVersion, documents: list[dict],
                      threshold=None, wanted: list[dict] | None = None, *, limit: int):
    """Predictions for raw documents, in order; nothing is stored (not even
    embeddings). Embedded at once (a 384-float row each), scored chunk by chunk."""
    check_label_filter(model, wanted)
    budget = _AnswerBudget(model, len(documents), threshold is None and wanted is None, limit)
    if not documents:
        return iter(())
    label_model = ml.load_model(session, model)
    texts = [ml.classifier().comment_text(d["messages"]) for d in documents]
    return _predicted_documents(label_model, model, texts, threshold, wanted, budget)


def _predicted_documents(label_model, model, texts, threshold, wanted, budget):
    embeddings = label_model.embed(texts, ml.embedder_for(label_model))
    for chunk in _chunks(range(len(texts)), model):
        rows = slice(chunk.start, chunk.stop)
        for text, labels in zip(texts[rows], label_model.predict_embedded(texts[rows], embeddings[rows])):
            chosen = budget.spend(select_labels(as_dicts(labels), model, threshold, wanted)) if text else []
            yield {"labels": chosen, "entities": []}
