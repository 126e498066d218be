"""The Labelf-style inference route (contract §14): a dataset's integer model id
serves its `live` version (else the latest), with the language of each text."""
from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from ..errors import NotFound, TooLarge
from ..models import Dataset, LabelfModel
from ..schemas.fields import id_number
from . import ml, model_versions
from .permissions import Principal


def dataset_for(session: Session, model_id: str, principal: Principal) -> Dataset:
    """The model's dataset; the caller needs voc-readonly on its project. A model of
    a project the caller has no code on answers like an unknown one."""
    number = id_number(model_id)
    if number is None:
        raise NotFound(f"Model {model_id} not found.")
    dataset = session.scalar(
        select(Dataset).join(LabelfModel, LabelfModel.dataset_id == Dataset.id).where(LabelfModel.id == number)
        # Inference needs neither the taxonomy nor the sources: three queries fewer.
        .options(lazyload(Dataset.label_groups), lazyload(Dataset.source_links))
    )
    if dataset is None or not principal.sees_project(dataset.owner):
        raise NotFound(f"Model {model_id} not found.")
    principal.require("voc-readonly", dataset.owner)
    return dataset


def infer(session: Session, dataset: Dataset, texts: list[str], *, limit: int) -> dict:
    """Every label for every text: at most `limit` (text, label) pairs."""
    started = time.perf_counter()
    version = model_versions.resolve(session, dataset, "live")
    cells = len(texts) * len(version.label_names)
    if cells > limit:
        raise TooLarge(f"The answer would hold more than {limit} predicted labels "
                       f"(REINFER_CLONE_MAX_PREDICTED_LABELS): {len(texts)} texts x "
                       f"{len(version.label_names)} labels = {cells}. Send fewer texts.",
                       limit="REINFER_CLONE_MAX_PREDICTED_LABELS")
    label_model = ml.load_model(session, version)
    predictions = label_model.predict(texts, ml.embedder())
    from ..classifier import language

    languages = language.detect(texts)
    results = [
        {"predictions": [{"label": p.name, "confidence": float(p.probability)} for p in labels],
         "text_language": language}
        for labels, language in zip(predictions, languages)
    ]
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


def list_models(session: Session, principal: Principal) -> list[dict]:
    from . import datasets

    out = []
    for dataset in datasets.list_visible(session, principal):
        try:
            live = model_versions.resolve(session, dataset, "live")
        except NotFound:  # not trained yet
            continue
        out.append({"id": dataset.labelf_model_id, "name": f"{dataset.owner}/{dataset.name}",
                    "version": live.version})
    return out
