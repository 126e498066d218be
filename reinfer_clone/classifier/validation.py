"""Held-out validation: the split, per-label PR curves, auto thresholds, rating.

A label's prediction passes a threshold t when its probability >= t.

Auto thresholds, from the held-out PR curve of each label:
* balanced: the threshold with the best F1 (ties: the higher threshold);
* high_recall: the highest threshold whose recall is >= 0.9 (the most precise
  way of finding 90 % of the label);
* high_precision: the lowest threshold whose precision is >= 0.9 (the most
  recall at 90 % precision); when no threshold reaches it, the one with the best
  precision.
They are then ordered high_recall <= balanced <= high_precision (clamped).
A label with no held-out positives gets DEFAULT_THRESHOLDS.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field

import numpy as np

TEST_FRACTION_PERCENT = 20
TARGET_RECALL = 0.9
TARGET_PRECISION = 0.9
MAX_CURVE_POINTS = 100
DEFAULT_THRESHOLDS = {"high_recall": 0.25, "balanced": 0.5, "high_precision": 0.75}
# Below this many held-out positives (all labels together) a score means little.
MIN_TEST_POSITIVES = 10
# The rating reaches its full scale from this many held-out positives on.
FULL_CONFIDENCE_POSITIVES = 50
QUALITY_BANDS = ((85.0, "excellent"), (70.0, "good"), (50.0, "average"), (0.0, "poor"))


def split_of(uid: str) -> str:
    """A fixed ~20 % of comment uids are held out, whatever else is labelled."""
    bucket = int.from_bytes(hashlib.sha256(f"split\0{uid}".encode()).digest()[:8], "big") % 100
    return "test" if bucket < TEST_FRACTION_PERCENT else "train"


@dataclass
class LabelValidation:
    name: str
    support: int
    precision: float
    recall: float
    average_precision: float
    thresholds: list[float] = field(default_factory=list)
    precisions: list[float] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)
    auto_thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))


@dataclass
class Validation:
    train_size: int
    test_size: int
    labels: list[LabelValidation]
    mean_average_precision: float
    rating_score: float
    rating_quality: str
    # Rating factors (classifier/rating.py), filled in at training time.
    factors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Validation:
        return cls(
            train_size=int(d["train_size"]), test_size=int(d["test_size"]),
            labels=[LabelValidation(**label) for label in d["labels"]],
            mean_average_precision=float(d["mean_average_precision"]),
            rating_score=float(d["rating_score"]), rating_quality=str(d["rating_quality"]),
            factors=list(d.get("factors", [])),
        )

    def label(self, name: str) -> LabelValidation | None:
        return next((label for label in self.labels if label.name == name), None)


def _finite(x: float) -> float:
    x = float(x)
    return x if math.isfinite(x) else 0.0


def label_validation(name: str, y: np.ndarray, p: np.ndarray) -> LabelValidation:
    """y: held-out truth (bool), p: probabilities, over the comments that count for the label.

    The curve runs from the highest held-out score down to threshold 0, so that
    any threshold in [0, 1] finds its point by "first threshold <= t" (what
    `re get stream-stats` does); a label without held-out positives still gets
    one, with precision and recall 0.
    """
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(y, dtype=bool)
    p = np.asarray(p, dtype=np.float64)
    support = int(y.sum())
    if support == 0:
        thresholds = np.unique(p)[::-1]
        if not len(thresholds) or thresholds[-1] > 0:
            thresholds = np.r_[thresholds, 0.0]
        keep = _curve_points(len(thresholds))
        zeros = [0.0] * len(keep)
        return LabelValidation(name=name, support=0, precision=0.0, recall=0.0,
                               average_precision=0.0, thresholds=[_finite(t) for t in thresholds[keep]],
                               precisions=zeros, recalls=list(zeros))
    # One point per distinct score (sklearn >= 1.1 keeps them all), ascending,
    # plus a final (precision 1, recall 0) point without a threshold: dropped.
    precisions, recalls, thresholds = precision_recall_curve(y, p)
    # average_precision_score's own formula on the curve just computed: calling
    # it would build the same curve again (5 ms + 11 ms a label measured at
    # 2,600 held-out comments; tests/classifier check the two agree).
    average_precision = -np.sum(np.diff(recalls) * precisions[:-1])
    precisions, recalls, thresholds = precisions[:-1][::-1], recalls[:-1][::-1], thresholds[::-1]
    scores = len(thresholds)
    if thresholds[-1] > 0:
        # At 0 every comment passes, as at the lowest score: the same point.
        thresholds = np.r_[thresholds, 0.0]
        precisions, recalls = np.r_[precisions, precisions[-1]], np.r_[recalls, recalls[-1]]

    f1 = np.where(precisions + recalls > 0,
                  2 * precisions * recalls / np.maximum(precisions + recalls, 1e-12), 0.0)
    balanced_i = int(np.argmax(f1))  # first = highest threshold among ties
    recall_ok = np.nonzero(recalls >= TARGET_RECALL)[0]
    high_recall_i = int(recall_ok[0]) if len(recall_ok) else len(thresholds) - 1
    precision_ok = np.nonzero(precisions >= TARGET_PRECISION)[0]
    high_precision_i = int(precision_ok[-1]) if len(precision_ok) else int(np.argmax(precisions))

    def between(i: int) -> float:
        # Any value in (next lower score, score i] splits the held-out set the same
        # way; the midpoint leaves the final model (trained on more data, so its
        # scores shift) room on both sides. On separable data the lowest positive
        # score can be 0.9999, which a threshold must not sit on. The threshold-0
        # point added above is not a score: never split towards it.
        if i + 1 >= scores:
            return float(thresholds[i])
        return float((thresholds[i] + thresholds[i + 1]) / 2)

    balanced = between(balanced_i)
    auto = {
        "high_recall": min(between(high_recall_i), balanced),
        "balanced": balanced,
        "high_precision": max(between(high_precision_i), balanced),
    }

    keep = _curve_points(len(thresholds))
    return LabelValidation(
        name=name, support=support,
        precision=_finite(precisions[balanced_i]), recall=_finite(recalls[balanced_i]),
        average_precision=_finite(average_precision),
        thresholds=[_finite(t) for t in thresholds[keep]],
        precisions=[_finite(x) for x in precisions[keep]],
        recalls=[_finite(x) for x in recalls[keep]],
        auto_thresholds=auto,
    )


def _curve_points(n: int) -> np.ndarray:
    """At most MAX_CURVE_POINTS indexes, evenly spread, first and last kept."""
    return np.unique(np.linspace(0, n - 1, MAX_CURVE_POINTS).round().astype(int))


def full_curve(thresholds: list, precisions: list, recalls: list) -> tuple[list, list, list]:
    """A stored curve extended down to threshold 0, for versions trained before
    curves ended there: at 0 every comment passes, as at the lowest score, so
    the last point repeats; no point at all means no held-out positives."""
    if not thresholds:
        return [0.0], [0.0], [0.0]
    if thresholds[-1] > 0:
        return [*thresholds, 0.0], [*precisions, precisions[-1]], [*recalls, recalls[-1]]
    return list(thresholds), list(precisions), list(recalls)


def summarise(labels: list[LabelValidation], train_size: int, test_size: int) -> Validation:
    """Mean AP over labels with held-out positives; the rating is that on a
    0-100 scale, shrunk while there are few held-out positives to judge by."""
    evaluated = [label for label in labels if label.support > 0]
    positives = sum(label.support for label in evaluated)
    mean_ap = float(np.mean([label.average_precision for label in evaluated])) if evaluated else 0.0
    if positives < MIN_TEST_POSITIVES:
        score, quality = 0.0, "none"
    else:
        score = round(100.0 * mean_ap * min(1.0, positives / FULL_CONFIDENCE_POSITIVES), 1)
        quality = next(name for floor, name in QUALITY_BANDS if score >= floor)
    return Validation(train_size=train_size, test_size=test_size, labels=labels,
                      mean_average_precision=_finite(mean_ap),
                      rating_score=_finite(score), rating_quality=quality)
