"""Pure ML for label models: no Flask, no SQL. See docs/classifier.md."""
from .embedding import (
    Embedder,
    EmbeddingCache,
    MemoryEmbeddingCache,
    embed_cached,
    embedding_key,
    get_e5_embedder,
    get_embedder,
)
from .model import LabelModel, Prediction
from .text import comment_text
from .training import Example, train
from .validation import LabelValidation, Validation, split_of

__all__ = [
    "Embedder", "EmbeddingCache", "Example", "LabelModel", "LabelValidation",
    "MemoryEmbeddingCache", "Prediction", "Validation", "comment_text", "embed_cached",
    "embedding_key", "get_e5_embedder", "get_embedder", "split_of", "train",
]
