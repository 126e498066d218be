"""Predictions of a dataset's model versions for its comments.

Stored per (model version, comment): computed for the whole dataset after
training, and on first read for comments that arrived later. Names are full
`" > "` paths; every list obeys the hierarchy rule (contract §11.2) and is
sorted by descending probability.
"""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..db import insert_for
from ..errors import InvalidInput, NotFound
from ..models import Comment, Dataset, ModelVersion, StoredPrediction
from . import ml
from .model_versions import latest_version

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
    with Session(bind=session.get_bind()) as writer:
        embeddings = ml.classifier().embed_cached(ml.embedder_for(label_model), texts,
                                                  ml.SqlEmbeddingCache(writer))
        scored = {
            c.pk: as_dicts(labels)
            for c, labels in zip(comments, label_model.predict_embedded(texts, embeddings))
        }
        insert = insert_for(writer)
        writer.execute(
            insert(StoredPrediction)
            .values([{"model_pk": model.pk, "comment_pk": pk, "labels": labels} for pk, labels in scored.items()])
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


def _all_scored(session: Session, dataset: Dataset, model: ModelVersion | None):
    """(comment pk, stored labels) of `model` (default latest) for every comment of
    the dataset, scoring the ones not scored yet; nothing without a model."""
    model = model or latest_version(session, dataset.id)
    if model is None:
        return []
    score_all(session, dataset, model)
    return session.execute(
        select(StoredPrediction.comment_pk, StoredPrediction.labels)
        .join(Comment, Comment.pk == StoredPrediction.comment_pk)
        .where(StoredPrediction.model_pk == model.pk, Comment.source_id.in_(dataset.source_ids))
    )


def label_probabilities(session: Session, dataset: Dataset, label: str,
                        model: ModelVersion | None = None) -> dict[int, float]:
    """comment pk -> probability of `label` under `model` (default latest), for
    every comment of the dataset (scoring the ones not scored yet)."""
    return {pk: next((x["probability"] for x in labels if x["name"] == label), 0.0)
            for pk, labels in _all_scored(session, dataset, model)}


def confidences(session: Session, dataset: Dataset, model: ModelVersion | None = None) -> dict[int, float]:
    """comment pk -> how sure `model` (default latest) is of it: the smallest
    |2p - 1| over its labels (0 = some label is a coin toss), for every comment of
    the dataset. The Teach queue shows the smallest first."""
    return {pk: min((abs(2 * x["probability"] - 1) for x in labels), default=1.0)
            for pk, labels in _all_scored(session, dataset, model)}


# Where held-out data gave a label no curve, "auto" falls back to this.
DEFAULT_AUTO = {"balanced": 0.5}
SEPARATOR = " > "


def _ancestors(name: str):
    parts = name.split(SEPARATOR)
    return [SEPARATOR.join(parts[:i]) for i in range(1, len(parts))]


def predicted_label(item: dict, auto: list[str] | None = None) -> dict:
    """A stored prediction as a PredictedLabel (§11.1), name in list form."""
    out = {"name": item["name"].split(SEPARATOR), "probability": item["probability"]}
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
    keep |= {a for name in keep for a in _ancestors(name) if a in by_name}
    return [predicted_label(item, auto.get(item["name"], []) if threshold == "auto" else None)
            for item in labels if item["name"] in keep]


def predict_comments(session: Session, dataset: Dataset, model: ModelVersion, uids: list[str],
                     threshold=None, wanted: list[dict] | None = None) -> list[dict]:
    """One prediction per uid, in request order (the client zips them with its page)."""
    from .labellings import parse_uid

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
    scored = predicted_labels(session, dataset, set(found.values()), model)
    return [{"uid": uid, "labels": select_labels(scored[found[key]], model, threshold, wanted),
             "entities": []} for uid, key in zip(uids, keys)]


def predict_documents(session: Session, model: ModelVersion, documents: list[dict],
                      threshold=None, wanted: list[dict] | None = None) -> list[dict]:
    """Predictions for raw documents; nothing is stored (not even embeddings)."""
    check_label_filter(model, wanted)
    if not documents:
        return []
    label_model = ml.load_model(session, model)
    texts = [ml.classifier().comment_text(d["messages"]) for d in documents]
    return [{"labels": select_labels(as_dicts(labels), model, threshold, wanted), "entities": []}
            for labels in label_model.predict(texts, ml.embedder_for(label_model))]
