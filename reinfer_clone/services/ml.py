"""The process's machine-learning runtime: the embedding model, the SQL-backed
embedding cache and loaded model versions.

Model versions are immutable, so a loaded one is cached by its row key for the
life of the process; every process (gunicorn worker, training worker, another
host) loads the same bytes from the database and so serves the same version.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import insert_for
from ..models import CachedEmbedding, ModelVersion

# How many model versions one process keeps loaded.
LOADED_MODELS = 4
# Keys per IN (...) query: well under SQLite's variable limit.
CHUNK = 500

_settings = {"model_path": None, "quantize": True}
_models: OrderedDict = OrderedDict()
_models_lock = threading.Lock()


def classifier():
    """The classifier package, imported on first use: it pulls in torch and
    transformers, which the server and commands should not pay for at start-up."""
    from .. import classifier as package

    return package


def configure(model_path: str | None, quantize: bool) -> None:
    _settings.update(model_path=model_path, quantize=quantize)


def embedder(family: str | None = None):
    """The encoder of a model family (contract `model_family`; None: english)."""
    from ..classifier import families

    if families.family(family).encoder == families.MULTILINGUAL:
        return classifier().get_e5_embedder()
    return classifier().get_embedder(_settings["model_path"], _settings["quantize"])


def lexical(family: str | None) -> tuple[str, ...]:
    """The n-gram blocks a family's label models add to the embedding."""
    from ..classifier import families

    return families.family(family).lexical


def embedder_for(label_model):
    """The encoder a stored model was trained with: a version trained before its
    dataset changed family keeps serving (with its own encoder) until the
    retrained one replaces it."""
    from ..classifier import families

    if families.encoder_of(label_model.embedding_model_id) == families.MULTILINGUAL:
        return classifier().get_e5_embedder()
    return embedder()


class SqlEmbeddingCache:
    """`classifier.EmbeddingCache` over the `embeddings` table. Writes go through
    the given session; the caller commits."""

    def __init__(self, session: Session):
        self.session = session

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found = {}
        for start in range(0, len(keys), CHUNK):
            rows = self.session.execute(
                select(CachedEmbedding.key, CachedEmbedding.vector)
                .where(CachedEmbedding.key.in_(keys[start:start + CHUNK]))
            )
            found.update((key, np.frombuffer(vector, dtype=np.float32)) for key, vector in rows)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        insert = insert_for(self.session)
        rows = [{"key": k, "vector": np.asarray(v, dtype=np.float32).tobytes()} for k, v in items.items()]
        for start in range(0, len(rows), CHUNK):
            self.session.execute(
                insert(CachedEmbedding).values(rows[start:start + CHUNK]).on_conflict_do_nothing()
            )


def load_model(session: Session, version: ModelVersion):
    with _models_lock:
        model = _models.get(version.pk)
        if model is not None:
            _models.move_to_end(version.pk)
            return model
    data = session.scalar(select(ModelVersion.artifact).where(ModelVersion.pk == version.pk))
    model = classifier().LabelModel.from_bytes(data)
    with _models_lock:
        _models[version.pk] = model
        while len(_models) > LOADED_MODELS:
            _models.popitem(last=False)
    return model


def forget_models() -> None:
    """Drop the loaded versions. Row keys are unique for a database's life; a
    test suite that empties the database and restarts its sequences must call this."""
    with _models_lock:
        _models.clear()
