"""The Labelf-style models API (contract §14 and our extensions): a dataset's
integer model id serves its `live` version (else the latest).

An unknown model id and one the caller may not read answer the same 404, so
ids cannot be probed. Texts are embedded once per encoder per request, however
many models read them; each model then only adds its linear heads.
"""
from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from ..errors import InvalidInput, NotFound, TooLarge
from ..models import Dataset, LabelfModel, ModelTag, TrainingJob
from ..vocabulary import id_number
from . import datasets, ml, model_versions
from .permissions import Principal

READ = "voc-readonly"


def _not_found(model_id) -> NotFound:
    return NotFound(f"Model {model_id} not found.")


def dataset_for(session: Session, model_id, principal: Principal, with_labels: bool = False) -> Dataset:
    """The dataset behind a model id; the caller needs voc-readonly on its project. A
    model of a project the caller has no code on answers like an unknown one."""
    number = id_number(model_id) if isinstance(model_id, str) else model_id
    if number is None:
        raise _not_found(model_id)
    # Inference needs neither the taxonomy nor the sources: three queries fewer.
    options = [lazyload(Dataset.source_links)]
    if not with_labels:
        options.append(lazyload(Dataset.label_groups))
    dataset = session.scalar(
        select(Dataset).join(LabelfModel, LabelfModel.dataset_id == Dataset.id)
        .where(LabelfModel.id == number).options(*options)
    )
    if dataset is None or not principal.sees_project(dataset.owner):
        raise _not_found(model_id)
    principal.require(READ, dataset.owner)
    return dataset


def _shaped(labels, max_predictions, threshold, wanted) -> list[dict]:
    """`labels`: classifier Predictions, most probable first."""
    out = []
    for p in labels:
        if wanted is not None and p.name not in wanted:
            continue
        if threshold is not None and p.probability < threshold:
            break  # sorted: nothing after passes either
        out.append({"label": p.name, "confidence": float(p.probability)})
        if max_predictions is not None and len(out) == max_predictions:
            break
    return out


class _Embeddings:
    """The request's texts embedded once per encoder."""

    def __init__(self, texts: list[str]):
        self.texts, self._by_encoder = texts, {}

    def for_model(self, label_model):
        embedder = ml.embedder_for(label_model)
        if embedder.model_id != label_model.embedding_model_id:
            raise ValueError(f"model trained on embeddings {label_model.embedding_model_id!r}, "
                             f"the server has {embedder.model_id!r}: retrain the dataset")
        if embedder.model_id not in self._by_encoder:
            self._by_encoder[embedder.model_id] = embedder.embed(self.texts)
        return self._by_encoder[embedder.model_id]


def _live(session: Session, dataset: Dataset):
    return model_versions.resolve(session, dataset, "live")


def _languages(texts: list[str]) -> list[str]:
    from ..classifier import language

    return language.detect(texts)


def _check_size(texts: list[str], versions, limit: int) -> None:
    """Every label for every text: at most `limit` (text, label) pairs."""
    labels = sum(len(v.label_names) for v in versions)
    cells = len(texts) * labels
    if cells > limit:
        raise TooLarge(f"The answer would hold more than {limit} predicted labels "
                       f"(REINFER_CLONE_MAX_PREDICTED_LABELS): {len(texts)} texts x "
                       f"{labels} labels = {cells}. Send fewer texts.",
                       limit="REINFER_CLONE_MAX_PREDICTED_LABELS")


def infer(session: Session, dataset: Dataset, texts: list[str], *, limit: int, max_predictions: int | None = None,
          threshold: float | None = None, label_filter: list[str] | None = None) -> dict:
    started = time.perf_counter()
    version = _live(session, dataset)
    _check_size(texts, [version], limit)  # before loading: a refused request costs no model load
    label_model = ml.load_model(session, version)
    wanted = None
    if label_filter is not None:
        known = set(label_model.labels)
        for i, name in enumerate(label_filter):
            if name not in known:
                raise InvalidInput(f"label_filter.{i}: '{name}' is not a label of model {dataset.labelf_model_id} "
                                   f"(version {version.version}).", field=f"label_filter.{i}")
        wanted = set(label_filter)
    embeddings = _Embeddings(texts)
    predictions = label_model.predict_embedded(texts, embeddings.for_model(label_model))
    results = [{"predictions": _shaped(labels, max_predictions, threshold, wanted), "text_language": lang}
               for labels, lang in zip(predictions, _languages(texts))]
    out = {
        "predictions": results[0]["predictions"],
        "model_id": dataset.labelf_model_id,
        "text_language": results[0]["text_language"],
        "version": version.version,
    }
    if len(texts) > 1:
        out["results"] = results
    out["processing_time_ms"] = int(round((time.perf_counter() - started) * 1000))
    return out


def infer_many(session: Session, principal: Principal, model_ids: list[int], texts: list[str], *,
               limit: int, max_predictions: int | None = None, threshold: float | None = None) -> dict:
    """Every model's predictions for every text, in one call: `results[i]` is
    text i, with its language and one entry per model in the order asked."""
    started = time.perf_counter()
    live = []
    for model_id in model_ids:
        dataset = dataset_for(session, model_id, principal)
        try:
            live.append((model_id, _live(session, dataset)))
        except NotFound:
            raise NotFound(f"Model {model_id} has no trained version yet.") from None
    _check_size(texts, [version for _, version in live], limit)
    embeddings = _Embeddings(texts)
    per_model = []
    for model_id, version in live:
        label_model = ml.load_model(session, version)
        per_model.append((model_id, version, label_model.predict_embedded(texts, embeddings.for_model(label_model))))
    results = [
        {"text_language": lang,
         "models": [{"model_id": model_id, "version": version.version,
                     "predictions": _shaped(predictions[i], max_predictions, threshold, None)}
                    for model_id, version, predictions in per_model]}
        for i, lang in enumerate(_languages(texts))
    ]
    return {"results": results, "model_ids": list(model_ids),
            "processing_time_ms": int(round((time.perf_counter() - started) * 1000))}


def describe(session: Session, dataset: Dataset) -> dict:
    """`GET /v2/models/<id>`: what the model is and how its training went."""
    tags: dict[int, list[str]] = {}
    for tag in session.scalars(select(ModelTag).where(ModelTag.dataset_id == dataset.id).order_by(ModelTag.name)):
        tags.setdefault(tag.version, []).append(tag.name)
    versions = model_versions.list_versions(session, dataset)
    try:
        live = model_versions.resolve(session, dataset, "live").version
    except NotFound:
        live = None
    job = session.scalar(select(TrainingJob).where(TrainingJob.dataset_id == dataset.id)
                         .order_by(TrainingJob.created_at.desc(), TrainingJob.id.desc()).limit(1))
    training = None
    if job is not None:
        training = {"job_id": job.id, "status": job.status, "reason": job.reason, "created_at": job.created_at}
        for key in ("started_at", "finished_at", "error", "model_version"):
            if getattr(job, key) is not None:
                training[key] = getattr(job, key)
    return {
        "id": dataset.labelf_model_id,
        "name": f"{dataset.owner}/{dataset.name}",
        "title": dataset.title,
        "family": dataset.model_family,
        "labels": [d.name for d in dataset.label_defs],
        "live_version": live,
        "versions": [_version(v, tags.get(v.version, [])) for v in reversed(versions)],
        "training": training,
    }


def _version(version, tags: list[str]) -> dict:
    validation = version.validation or {}
    summary = model_versions.model_summary(version)
    return {
        "version": version.version,
        "created_at": version.created_at,
        "tags": tags,
        "labels": list(version.label_names),
        "reviewed_size": version.reviewed_size,
        "validation": {
            "model_rating": summary["model_rating"],
            "mean_average_precision": float(validation.get("mean_average_precision", 0.0)),
            "train_size": int(validation.get("train_size", 0)),
            "test_size": int(validation.get("test_size", 0)),
        },
    }


def list_models(session: Session, principal: Principal) -> list[dict]:
    out = []
    for dataset in datasets.list_visible(session, principal):
        try:
            live = model_versions.resolve(session, dataset, "live")
        except NotFound:  # not trained yet
            continue
        out.append({"id": dataset.labelf_model_id, "name": f"{dataset.owner}/{dataset.name}",
                    "version": live.version, "family": dataset.model_family})
    return out
