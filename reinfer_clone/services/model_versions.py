"""Model versions of a dataset, the tags that point at them, and what their
validation says (contract §10)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import InvalidInput, NotFound
from ..models import Dataset, ModelTag, ModelVersion
from ..vocabulary import NAME_RE, id_number
from . import ml

NOT_FOUND = "model version not found"


def list_versions(session: Session, dataset: Dataset) -> list[ModelVersion]:
    return list(session.scalars(
        select(ModelVersion).where(ModelVersion.dataset_id == dataset.id).order_by(ModelVersion.version)
    ))


def _by_number(session: Session, dataset: Dataset, number: int) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(ModelVersion.dataset_id == dataset.id, ModelVersion.version == number)
    )


def latest_version(session: Session, dataset_id: str) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(ModelVersion.dataset_id == dataset_id)
        .order_by(ModelVersion.version.desc()).limit(1)
    )


def _tag(session: Session, dataset: Dataset, name: str) -> ModelTag | None:
    return session.get(ModelTag, (dataset.id, name))


def resolve(session: Session, dataset: Dataset, reference: str) -> ModelVersion:
    """An integer, `latest`, `live` (the `live` tag, else latest) or a tag name."""
    version = None
    if reference.isascii() and reference.isdigit():
        number = id_number(reference)  # None beyond the column: no such version
        version = None if number is None else _by_number(session, dataset, number)
    elif reference == "latest":
        version = latest_version(session, dataset.id)
    else:
        tag = _tag(session, dataset, reference)
        if tag is not None:
            version = _by_number(session, dataset, tag.version)
        elif reference == "live":
            version = latest_version(session, dataset.id)
    if version is None:
        raise NotFound(NOT_FOUND)
    return version


def list_tags(session: Session, dataset: Dataset) -> list[dict]:
    tags = session.scalars(select(ModelTag).where(ModelTag.dataset_id == dataset.id).order_by(ModelTag.name))
    return [tag_dict(t) for t in tags]


def tag_dict(tag: ModelTag) -> dict:
    return {"name": tag.name, "version": tag.version, "updated_at": tag.updated_at}


def set_tag(session: Session, dataset: Dataset, name: str, version: int) -> dict:
    if not NAME_RE.match(name):
        raise InvalidInput(f"tag: '{name}' must be 1 to 256 characters from A-Z, a-z, 0-9, '_' and '-'.",
                           field="tag")
    if name == "latest" or name.isdigit():
        raise InvalidInput(f"tag: '{name}' is reserved for version references.", field="tag")
    if _by_number(session, dataset, version) is None:
        raise InvalidInput(f"version: the dataset has no model version {version}.", field="version")
    tag = _tag(session, dataset, name)
    if tag is None:
        tag = ModelTag(dataset_id=dataset.id, name=name)
        session.add(tag)
    tag.version = version
    tag.updated_at = utcnow()
    session.flush()
    return tag_dict(tag)


def model_summary(version: ModelVersion) -> dict:
    """The `model` object of predict and train responses."""
    rating = version.validation.get("rating_score", 0.0)
    return {
        "version": version.version,
        "time": version.created_at,
        "reviewed_size": version.reviewed_size,
        "num_labels": len(version.label_names),
        "model_rating": {"score": round(float(rating), 1),
                         "quality": version.validation.get("rating_quality", "none")},
    }


def validation_response(dataset: Dataset, version: ModelVersion) -> dict:
    validation = version.validation
    labels = validation.get("labels", [])
    return {
        "label_groups": [{
            "name": group.name,
            "label_defs": [{"name": d.name, "title": d.title, "instructions": d.instructions}
                           for d in group.label_defs],
        } for group in dataset.label_groups],
        "validation": {
            "version": version.version,
            "reviewed_size": version.reviewed_size,
            "model_rating": model_summary(version)["model_rating"],
            # Extensions: held-out metrics behind the rating.
            "train_size": int(validation.get("train_size", 0)),
            "test_size": int(validation.get("test_size", 0)),
            "mean_average_precision": float(validation.get("mean_average_precision", 0.0)),
            # Contract §20: what the rating is made of (empty for versions trained before).
            "factors": validation.get("factors", []),
            "labels": [{
                "name": v["name"],
                "support": int(v["support"]),
                "precision": float(v["precision"]),
                "recall": float(v["recall"]),
                "average_precision": float(v["average_precision"]),
                "auto_thresholds": v.get("auto_thresholds", {}),
            } for v in labels],
        },
    }


def label_validation(version: ModelVersion, label: str) -> dict:
    full_curve = ml.classifier().validation.full_curve
    for entry in version.validation.get("labels", []):
        if entry["name"] == label:
            curve = full_curve(entry["thresholds"], entry["precisions"], entry["recalls"])
            return {key: [float(x) for x in values]
                    for key, values in zip(("thresholds", "precisions", "recalls"), curve)}
    if label in version.label_names:
        # Scored but never validated: the one point every threshold finds.
        return {"thresholds": [0.0], "precisions": [0.0], "recalls": [0.0]}
    raise InvalidInput(f"label: '{label}' is not a label of model version {version.version}.", field="label")
