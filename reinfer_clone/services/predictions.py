"""Stored predictions of a dataset's model versions, as the other services read them.

Names are full `" > "` paths; every list obeys the hierarchy rule (contract §11.2)
and is sorted by descending probability.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Dataset, ModelVersion, StoredPrediction


def latest_version(session: Session, dataset_id: str) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(ModelVersion.dataset_id == dataset_id)
        .order_by(ModelVersion.version.desc()).limit(1)
    )


def predicted_labels(session: Session, dataset: Dataset, comment_pks,
                     model: ModelVersion | None = None) -> dict[int, list[dict]]:
    """Predictions of `model` (default: the latest version) for the given comments;
    empty when the dataset has no model. Comments the model has not scored yet
    are left out."""
    model = model or latest_version(session, dataset.id)
    pks = list(comment_pks)
    if model is None or not pks:
        return {}
    rows = session.execute(
        select(StoredPrediction.comment_pk, StoredPrediction.labels).where(
            StoredPrediction.model_pk == model.pk, StoredPrediction.comment_pk.in_(pks)
        )
    )
    return {pk: labels for pk, labels in rows}


def label_probabilities(session: Session, dataset: Dataset, label: str,
                        model: ModelVersion | None = None) -> dict[int, float]:
    """comment pk -> probability of `label` under `model` (default latest), for
    every comment the model has scored."""
    model = model or latest_version(session, dataset.id)
    if model is None:
        return {}
    out = {}
    for pk, labels in session.execute(
        select(StoredPrediction.comment_pk, StoredPrediction.labels)
        .where(StoredPrediction.model_pk == model.pk)
    ):
        out[pk] = next((x["probability"] for x in labels if x["name"] == label), 0.0)
    return out


def count_scored(session: Session, model: ModelVersion) -> int:
    return session.scalar(
        select(func.count()).select_from(StoredPrediction).where(StoredPrediction.model_pk == model.pk)
    )
