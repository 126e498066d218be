"""A trained label model: scoring, the hierarchy rule, storage.

Score of label j for a text: s_j = sparse_j(tfidf) + dense_weight * dense_j(embedding),
a linear SVM on the TF-IDF features plus the logit of a logistic regression on
the sentence embedding. p_j = sigmoid(platt_a * s_j + platt_b), one mapping for
all labels fitted on held-out scores (so thresholds learnt on the validation
model carry over). Labels that could not be modelled (no positives, or no
negatives) have a constant probability instead.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np

from .embedding import EmbeddingCache, embed_cached
from .features import TextFeatures
from .taxonomy import depth, parent_of

FORMAT_VERSION = 1
SENTIMENT_NONE, SENTIMENT_OWN = 0, 1


@dataclass
class Prediction:
    name: str
    probability: float
    sentiment: float | None


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def _half(a: np.ndarray) -> np.ndarray:
    """float16 storage halves the artifact; the model always computes with the
    rounded values so that a stored model predicts exactly like the fresh one."""
    return np.asarray(a, dtype=np.float32).astype(np.float16).astype(np.float32)


class LabelModel:
    def __init__(self, *, labels: list[str], embedding_model_id: str, has_sentiment: bool,
                 thresholds: dict[str, dict[str, float]], features: TextFeatures,
                 sparse_coef: np.ndarray, sparse_intercept: np.ndarray,
                 dense_coef: np.ndarray, dense_intercept: np.ndarray, dense_weight: float,
                 platt: tuple[float, float], constant: np.ndarray,
                 sentiment_kind: np.ndarray, sentiment_coef: np.ndarray,
                 sentiment_intercept: np.ndarray, global_sentiment: np.ndarray | None):
        self.labels = list(labels)
        self.embedding_model_id = embedding_model_id
        self.has_sentiment = bool(has_sentiment)
        self.thresholds = thresholds
        self.features = features
        self.sparse_coef = _half(sparse_coef)            # (F, L)
        self.sparse_intercept = np.asarray(sparse_intercept, np.float32)
        self.dense_coef = _half(dense_coef)              # (D, L)
        self.dense_intercept = np.asarray(dense_intercept, np.float32)
        self.dense_weight = float(dense_weight)
        self.platt = (float(platt[0]), float(platt[1]))
        self.constant = np.asarray(constant, np.float64)  # NaN where modelled
        self.sentiment_kind = np.asarray(sentiment_kind, np.int8)
        self.sentiment_coef = _half(sentiment_coef)      # (D, L)
        self.sentiment_intercept = np.asarray(sentiment_intercept, np.float32)
        # [coef..., intercept] of the dataset-wide sentiment model, or None.
        self.global_sentiment = (None if global_sentiment is None
                                 else np.asarray(global_sentiment, np.float32))
        self._index = {name: j for j, name in enumerate(self.labels)}
        # Children before parents, so a grandchild's probability reaches the root.
        self._edges = [(self._index[name], self._index[parent])
                       for name in sorted(self.labels, key=depth, reverse=True)
                       if (parent := parent_of(name)) in self._index]
        self._children: dict[int, list[int]] = {}
        for child, parent in self._edges:
            self._children.setdefault(parent, []).append(child)
        for children in self._children.values():
            children.sort(key=lambda j: self.labels[j])
        self._parents_bottom_up = sorted(self._children, key=lambda j: -depth(self.labels[j]))
        self._name_rank = np.argsort(np.argsort(np.array(self.labels, dtype=object)))

    # -- scoring -------------------------------------------------------------

    def scores(self, texts: list[str], embeddings: np.ndarray) -> np.ndarray:
        """Raw scores (n, L) before calibration."""
        embeddings = np.asarray(embeddings, np.float32)
        out = embeddings @ self.dense_coef + self.dense_intercept
        out *= self.dense_weight
        if self.features.size:
            out += np.asarray(self.features.transform(texts) @ self.sparse_coef)
        out += self.sparse_intercept
        return out

    def probabilities(self, texts: list[str], embeddings: np.ndarray) -> np.ndarray:
        """Calibrated (n, L), hierarchy rule applied."""
        return self.calibrate(self.scores(texts, embeddings))

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        a, b = self.platt
        p = _sigmoid(a * np.asarray(scores, np.float64) + b)
        fixed = ~np.isnan(self.constant)
        p[:, fixed] = self.constant[fixed]
        return self.apply_hierarchy(np.clip(p, 0.0, 1.0))

    def apply_hierarchy(self, p: np.ndarray) -> np.ndarray:
        p = p.copy()
        for child, parent in self._edges:
            np.maximum(p[:, parent], p[:, child], out=p[:, parent])
        return p

    def sentiments(self, embeddings: np.ndarray, p: np.ndarray) -> np.ndarray:
        """(n, L) in [-1, 1]. Labels without a model of their own: the most
        probable child's sentiment for parents, else the dataset-wide model, else 0."""
        n, count = len(embeddings), len(self.labels)
        if self.global_sentiment is not None:
            logit = embeddings @ self.global_sentiment[:-1] + self.global_sentiment[-1]
            fallback = 2 * _sigmoid(logit) - 1
        else:
            fallback = np.zeros(n)
        out = np.repeat(fallback[:, None], count, axis=1).astype(np.float64)
        own = self.sentiment_kind == SENTIMENT_OWN
        if own.any():
            logits = embeddings @ self.sentiment_coef[:, own] + self.sentiment_intercept[own]
            out[:, own] = 2 * _sigmoid(logits) - 1
        for parent in self._parents_bottom_up:  # children are final before their parent
            if own[parent]:
                continue
            children = self._children[parent]
            # np.argmax takes the first maximum; children are in name order, like the output.
            best = np.asarray(children)[np.argmax(p[:, children], axis=1)]
            out[:, parent] = out[np.arange(n), best]
        return np.clip(out, -1.0, 1.0)

    def predict_embedded(self, texts: list[str], embeddings: np.ndarray) -> list[list[Prediction]]:
        if not len(texts):
            return []
        embeddings = np.asarray(embeddings, np.float32)
        p = self.probabilities(texts, embeddings)
        s = self.sentiments(embeddings, p) if self.has_sentiment else None
        names = self.labels
        # Per row: descending probability, then name.
        orders = np.lexsort((np.broadcast_to(self._name_rank, p.shape), -p), axis=-1)
        out = []
        for i, order in enumerate(orders.tolist()):
            probabilities = p[i].tolist()
            sentiments = None if s is None else s[i].tolist()
            out.append([Prediction(names[j], probabilities[j],
                                   None if sentiments is None else sentiments[j])
                        for j in order])
        return out

    def embed(self, texts: list[str], embedder, cache: EmbeddingCache | None = None) -> np.ndarray:
        """The embeddings this model scores, from `embedder` (which must be the one it was trained on)."""
        if embedder.model_id != self.embedding_model_id:
            raise ValueError(f"model trained on embeddings {self.embedding_model_id!r}, "
                             f"given {embedder.model_id!r}")
        return embed_cached(embedder, texts, cache)

    def predict(self, texts: list[str], embedder, cache: EmbeddingCache | None = None
                ) -> list[list[Prediction]]:
        return self.predict_embedded(texts, self.embed(texts, embedder, cache))

    # -- storage -------------------------------------------------------------

    def to_bytes(self) -> bytes:
        meta = {
            "format": FORMAT_VERSION, "labels": self.labels,
            "embedding_model_id": self.embedding_model_id, "has_sentiment": self.has_sentiment,
            "thresholds": self.thresholds, "dense_weight": self.dense_weight,
            "platt": list(self.platt), "vocabularies": self.features.vocabularies,
        }
        arrays = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "sparse_coef": self.sparse_coef.astype(np.float16),
            "sparse_intercept": self.sparse_intercept,
            "dense_coef": self.dense_coef.astype(np.float16),
            "dense_intercept": self.dense_intercept,
            "constant": self.constant,
            "sentiment_kind": self.sentiment_kind,
            "sentiment_coef": self.sentiment_coef.astype(np.float16),
            "sentiment_intercept": self.sentiment_intercept,
        }
        for block, idf in self.features.idfs.items():
            arrays[f"idf_{block}"] = idf
        if self.global_sentiment is not None:
            arrays["global_sentiment"] = self.global_sentiment
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LabelModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError(f"unsupported label model format {meta.get('format')!r}")
            vocabularies = meta["vocabularies"]
            features = TextFeatures(vocabularies, {b: z[f"idf_{b}"] for b in vocabularies})
            return cls(
                labels=meta["labels"], embedding_model_id=meta["embedding_model_id"],
                has_sentiment=meta["has_sentiment"], thresholds=meta["thresholds"],
                features=features,
                sparse_coef=z["sparse_coef"], sparse_intercept=z["sparse_intercept"],
                dense_coef=z["dense_coef"], dense_intercept=z["dense_intercept"],
                dense_weight=meta["dense_weight"], platt=tuple(meta["platt"]),
                constant=z["constant"], sentiment_kind=z["sentiment_kind"],
                sentiment_coef=z["sentiment_coef"],
                sentiment_intercept=z["sentiment_intercept"],
                global_sentiment=z["global_sentiment"] if "global_sentiment" in z.files else None,
            )
