"""Model rating factors (contract §20): balance, coverage, all labels and
underperforming labels, and the rating score derived from them.

Pure: the service hands in embeddings of the reviewed comments and of a
sample of the whole dataset, the final model's probabilities on that sample,
the held-out validation and the number of training examples per label.
docs/classifier.md explains each factor and its weight.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from .embedding import EmbeddingCache, embed_cached
from .taxonomy import with_ancestors
from .validation import FULL_CONFIDENCE_POSITIVES, MIN_TEST_POSITIVES, QUALITY_BANDS, Validation

# Regions of the data: k-means clusters of the sample's embeddings.
MAX_REGIONS = 10
MIN_PER_REGION = 20
# A label needs this many reviewed examples to be learnt reliably ...
MIN_EXAMPLES = 25
# ... and, once it has held-out positives, at least this average precision.
MIN_AVERAGE_PRECISION = 0.5
# Weights of the factors in the rating; they sum to 1.
WEIGHTS = {"balance": 0.2, "coverage": 0.2, "all_labels": 0.45, "underperforming_labels": 0.15}
# A region the reviewed set holds less than this fraction of its share of is under-represented.
UNDER_REPRESENTED = 0.5


def quality(score: float) -> str:
    return next(name for floor, name in QUALITY_BANDS if score >= floor)


def _unit(E: np.ndarray) -> np.ndarray:
    E = np.asarray(E, dtype=np.float32)
    return E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)


def regions(sample: np.ndarray, seed: int = 0) -> np.ndarray:
    """Centroids (unit vectors) of up to MAX_REGIONS clusters of the sample."""
    from sklearn.cluster import KMeans

    X = _unit(sample)
    k = int(min(MAX_REGIONS, max(1, len(X) // MIN_PER_REGION)))
    if len(X) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if k == 1:
        return _unit(X.mean(axis=0, keepdims=True))
    fit = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(X)
    return _unit(fit.cluster_centers_)


def assign(centroids: np.ndarray, E: np.ndarray) -> np.ndarray:
    """The region of each row: the nearest centroid by cosine."""
    if len(E) == 0 or len(centroids) == 0:
        return np.zeros(len(E), dtype=np.int64)
    return np.argmax(_unit(E) @ np.asarray(centroids, dtype=np.float32).T, axis=1)


def balance(centroids: np.ndarray, reviewed: np.ndarray, sample: np.ndarray) -> dict:
    """How much of the dataset's distribution over regions the reviewed
    comments share: 100 x sum over regions of min(dataset share, reviewed share),
    i.e. 100 x (1 - total variation distance). 100: reviewed like the data."""
    k = len(centroids)
    if k == 0 or len(reviewed) == 0 or len(sample) == 0:
        return {"score": 0.0, "details": {"regions": [], "sample_size": int(len(sample)),
                                          "reviewed_size": int(len(reviewed))}}
    data_share = np.bincount(assign(centroids, sample), minlength=k) / len(sample)
    reviewed_share = np.bincount(assign(centroids, reviewed), minlength=k) / len(reviewed)
    score = 100.0 * float(np.minimum(data_share, reviewed_share).sum())
    listed = [{"region": r, "dataset_share": round(float(data_share[r]), 4),
               "reviewed_share": round(float(reviewed_share[r]), 4),
               "under_represented": bool(reviewed_share[r] < UNDER_REPRESENTED * data_share[r])}
              for r in range(k)]
    return {"score": score, "details": {"regions": listed, "sample_size": int(len(sample)),
                                        "reviewed_size": int(len(reviewed))}}


def coverage(probabilities: np.ndarray, thresholds: np.ndarray) -> dict:
    """Share of the sample with at least one label at or above its balanced threshold."""
    n = len(probabilities)
    covered = int((probabilities >= thresholds[None, :]).any(axis=1).sum()) if n and thresholds.size else 0
    return {"score": 100.0 * covered / n if n else 0.0,
            "details": {"covered": covered, "sample_size": int(n)}}


def all_labels(validation: Validation) -> dict:
    """Mean held-out average precision over labels with held-out positives."""
    evaluated = [v for v in validation.labels if v.support > 0]
    mean_ap = float(np.mean([v.average_precision for v in evaluated])) if evaluated else 0.0
    return {"score": 100.0 * mean_ap,
            "details": {"mean_average_precision": round(mean_ap, 4), "labels_evaluated": len(evaluated),
                        "labels": len(validation.labels)}}


def underperforming(validation: Validation, examples: dict[str, int]) -> dict:
    """Labels with fewer than MIN_EXAMPLES reviewed examples, or with held-out
    positives and an average precision below MIN_AVERAGE_PRECISION; the score
    is the share of labels that are neither."""
    listed = []
    for v in validation.labels:
        count = int(examples.get(v.name, 0))
        if count < MIN_EXAMPLES:
            reason = "too_few_examples"
        elif v.support > 0 and v.average_precision < MIN_AVERAGE_PRECISION:
            reason = "low_average_precision"
        else:
            continue
        listed.append({"name": v.name, "reason": reason, "examples": count,
                       "average_precision": round(float(v.average_precision), 4)})
    total = len(validation.labels)
    score = 100.0 * (1 - len(listed) / total) if total else 0.0
    return {"score": score, "details": {"labels": listed}}


def factors(validation: Validation, examples: dict[str, int], centroids: np.ndarray,
            reviewed: np.ndarray, sample: np.ndarray, probabilities: np.ndarray,
            thresholds: np.ndarray) -> list[dict]:
    computed = {
        "balance": balance(centroids, reviewed, sample),
        "coverage": coverage(probabilities, thresholds),
        "all_labels": all_labels(validation),
        "underperforming_labels": underperforming(validation, examples),
    }
    out = []
    for kind, weight in WEIGHTS.items():
        score = round(float(np.clip(computed[kind]["score"], 0.0, 100.0)), 1)
        out.append({"kind": kind, "score": score, "contribution": round(weight * score, 2),
                    "rating": quality(score), "details": computed[kind]["details"]})
    return out


def rating(factor_list: list[dict], validation: Validation) -> tuple[float, str]:
    """The weighted sum of the factors, shrunk while few held-out positives
    back it (as the mean-AP rating before it was); "none" below MIN_TEST_POSITIVES."""
    positives = sum(v.support for v in validation.labels if v.support > 0)
    if positives < MIN_TEST_POSITIVES:
        return 0.0, "none"
    total = sum(f["contribution"] for f in factor_list)
    score = round(float(np.clip(total * min(1.0, positives / FULL_CONFIDENCE_POSITIVES), 0.0, 100.0)), 1)
    return score, quality(score)


def rate(model, validation: Validation, examples: list, sample_texts: list[str], embedder,
         cache: EmbeddingCache | None = None) -> np.ndarray:
    """Fill `validation.factors` and its rating for a trained `model` from its
    training `examples` and the texts of a sample of the whole dataset; returns
    the regions' centroids (stored with the version)."""
    sample = embed_cached(embedder, sample_texts, cache)
    reviewed = embed_cached(embedder, [e.text for e in examples], cache)
    centroids = regions(sample)
    probabilities = (model.probabilities(sample_texts, sample) if sample_texts
                     else np.zeros((0, len(model.labels))))
    thresholds = np.array([model.thresholds.get(name, {}).get("balanced", 0.5) for name in model.labels])
    counts = Counter(name for e in examples for name in with_ancestors(list(e.assigned)))
    validation.factors = factors(validation, counts, centroids, reviewed, sample, probabilities, thresholds)
    validation.rating_score, validation.rating_quality = rating(validation.factors, validation)
    return centroids
