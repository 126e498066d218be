from __future__ import annotations

import json
import random

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from reinfer_clone.classifier import Example, Validation, split_of, train
from reinfer_clone.classifier.validation import label_validation, summarise

from .conftest import PHRASES, sentence


def test_split_is_stable_and_holds_out_about_a_fifth():
    uids = [f"comment-{i}" for i in range(2000)]
    splits = [split_of(u) for u in uids]
    assert splits == [split_of(u) for u in uids]
    assert set(splits) == {"train", "test"}
    assert 0.17 < splits.count("test") / len(uids) < 0.23


def test_label_validation_curve_and_auto_thresholds():
    y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0], dtype=bool)
    p = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    lv = label_validation("A", y, p)
    assert lv.support == 4
    # Every distinct score, then threshold 0 (everything passes, as at 0.1).
    assert lv.thresholds == sorted(lv.thresholds, reverse=True) == p.tolist() + [0.0]
    assert len(lv.thresholds) == len(lv.precisions) == len(lv.recalls) == 11
    assert lv.precisions[:4] == [1.0, 1.0, 2 / 3, 0.75]
    assert lv.recalls[:4] == [0.25, 0.5, 0.5, 0.75]
    assert (lv.precisions[-2:], lv.recalls[-2:]) == ([0.4, 0.4], [1.0, 1.0])
    assert lv.average_precision == pytest.approx(average_precision_score(y, p))
    # Best F1 0.75 at 0.7 (3 of 4 found, 3 of 4 right; 0.4 finds all 4 but F1 = 0.727);
    # recall 0.9 first reached at 0.4; precision >= 0.9 last holds at 0.9. Each sits
    # halfway to the next lower score, which splits the held-out set the same way.
    assert lv.auto_thresholds == pytest.approx({"high_recall": 0.35, "balanced": 0.65, "high_precision": 0.85})
    assert (lv.precision, lv.recall) == (0.75, 0.75)


def test_label_validation_ties_share_a_point_and_curves_are_capped():
    rng = np.random.default_rng(0)
    y = rng.random(5000) < 0.3
    p = np.round(np.clip(0.5 * y + rng.random(5000) * 0.6, 0, 1), 3)
    lv = label_validation("A", y, p)
    assert len(lv.thresholds) <= 100
    assert all(a > b for a, b in zip(lv.thresholds, lv.thresholds[1:]))
    assert lv.average_precision == pytest.approx(average_precision_score(y, p))
    auto = lv.auto_thresholds
    assert auto["high_recall"] <= auto["balanced"] <= auto["high_precision"]
    assert lv.thresholds[0] == p.max() and lv.thresholds[-1] == 0.0
    none = label_validation("B", np.zeros(3, bool), np.array([0.9, 0.4, 0.4]))
    assert none.support == 0
    assert (none.thresholds, none.precisions, none.recalls) == ([0.9, 0.4, 0.0], [0.0] * 3, [0.0] * 3)
    empty = label_validation("C", np.zeros(0, bool), np.zeros(0))
    assert (empty.thresholds, empty.precisions, empty.recalls) == ([0.0], [0.0], [0.0])


def test_curve_keeps_a_real_zero_score_once():
    lv = label_validation("A", np.array([1, 0, 0], bool), np.array([0.8, 0.3, 0.0]))
    assert lv.thresholds == [0.8, 0.3, 0.0]
    assert lv.recalls == [1.0, 1.0, 1.0] and lv.precisions == [1.0, 0.5, 1 / 3]


def test_summary_rating_needs_enough_held_out_positives():
    good = label_validation("A", np.array([1, 0, 1, 0] * 10, bool),
                            np.array([0.9, 0.1, 0.8, 0.2] * 10))
    summary = summarise([good], train_size=100, test_size=40)
    assert summary.mean_average_precision == 1.0
    assert (summary.rating_score, summary.rating_quality) == (40.0, "poor")  # 20 of 50 positives
    few = label_validation("A", np.array([1, 0, 1]), np.array([0.9, 0.1, 0.8]))
    assert summarise([few], 10, 3).rating_quality == "none"
    assert summarise([], 0, 0).rating_score == 0.0


def test_validation_round_trips_through_json(trained):
    _, validation = trained
    text = json.dumps(validation.to_dict(), allow_nan=False)
    again = Validation.from_dict(json.loads(text))
    assert again == validation
    for lv in validation.labels:
        assert len(lv.thresholds) == len(lv.precisions) == len(lv.recalls)
        assert lv.thresholds == sorted(lv.thresholds, reverse=True)
        assert set(lv.auto_thresholds) == {"high_recall", "balanced", "high_precision"}
    assert validation.rating_quality in ("none", "poor", "average", "good", "excellent")
    assert 0.0 <= validation.rating_score <= 100.0


def test_validation_counts_and_scores_only_held_out_comments(trained, examples):
    model, validation = trained
    test_uids = [e for e in examples if split_of(e.uid) == "test"]
    assert validation.test_size == len(test_uids)
    assert validation.train_size == len(examples) - len(test_uids)
    for name in PHRASES:
        support = sum(name in e.assigned for e in test_uids)
        assert validation.label(name).support == support
    billing = sum(any(k.startswith("Billing") for k in e.assigned) for e in test_uids)
    assert validation.label("Billing").support == billing
    assert validation.label("Unused").support == 0
    assert validation.mean_average_precision > 0.9  # the synthetic labels are easy
    assert model.thresholds == {lv.name: lv.auto_thresholds for lv in validation.labels}


def test_validation_model_never_sees_held_out_labels(embedder):
    """Held-out comments carry the *other* label of the same wording: a model
    trained on them would score them well, one trained only on the train split
    ranks them backwards."""
    rng = random.Random(2)
    examples = []
    for i in range(160):
        uid = f"h{i}"
        wording = "Billing > Refund" if i % 2 else "Delivery > Late"
        other = "Delivery > Late" if i % 2 else "Billing > Refund"
        label = other if split_of(uid) == "test" else wording
        examples.append(Example(uid, sentence(rng, wording), {label: None}))
    _, validation = train(examples, ["Billing > Refund", "Delivery > Late"], embedder,
                          has_sentiment=False)
    for name in ("Billing > Refund", "Delivery > Late"):
        lv = validation.label(name)
        assert lv.support > 5
        assert lv.average_precision < 0.5
