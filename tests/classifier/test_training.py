from __future__ import annotations

import math
import random

import numpy as np
import pytest

from reinfer_clone.classifier import Example, LabelModel, MemoryEmbeddingCache, train
from reinfer_clone.classifier.training import targets

from .conftest import PHRASES, make_examples, sentence

QUERIES = ["could I get a refund please", "where is my parcel, it is late",
           "the item came damaged", "send me the invoice", "hello", ""]


def check_output(predictions, labels):
    """The contract's rules for every prediction output (CONTRACT.md §11.2)."""
    for row in predictions:
        by_name = {p.name: p.probability for p in row}
        assert sorted(by_name) == sorted(labels)  # every label, once
        for p in row:
            assert isinstance(p.probability, float) and math.isfinite(p.probability)
            assert 0.0 <= p.probability <= 1.0
            if " > " in p.name:
                parent = p.name.rsplit(" > ", 1)[0]
                assert parent in by_name
                assert by_name[parent] >= p.probability
        keys = [(-p.probability, p.name) for p in row]
        assert keys == sorted(keys)


def test_model_scores_every_label_with_the_hierarchy_rule(trained, embedder):
    model, _ = trained
    assert model.labels == ["Billing", "Billing > Invoice", "Billing > Refund", "Delivery",
                            "Delivery > Damaged", "Delivery > Late", "Unused"]
    predictions = model.predict(QUERIES, embedder)
    assert len(predictions) == len(QUERIES)
    check_output(predictions, model.labels)
    assert all(p.sentiment is None for row in predictions for p in row)


def test_model_ranks_the_right_labels_first(trained, embedder):
    model, _ = trained
    predictions = model.predict(QUERIES[:4], embedder)
    tops = [[p.name for p in row[:2]] for row in predictions]
    assert tops == [["Billing", "Billing > Refund"], ["Delivery", "Delivery > Late"],
                    ["Delivery", "Delivery > Damaged"], ["Billing", "Billing > Invoice"]]
    top = predictions[0][1]
    assert top.probability > 0.5
    unused = next(p for p in predictions[0] if p.name == "Unused")
    assert unused.probability == 0.0  # no positives: the prior


def test_hierarchy_rule_lifts_parents_at_any_depth(embedder):
    rng = random.Random(1)
    examples = []
    for i in range(40):
        label = "Billing > Refund" if i % 2 else "Delivery > Late"
        deep = "A > B > C" if label == "Billing > Refund" else "A > B > D"
        examples.append(Example(f"d{i}", sentence(rng, label), {deep: None}))
    model, _ = train(examples, ["A > B > C", "A > B > D"], embedder, has_sentiment=False)
    assert model.labels == ["A", "A > B", "A > B > C", "A > B > D"]
    raw = model.calibrate(model.scores(QUERIES, embedder.embed(QUERIES)))
    for row in raw:
        assert row[0] >= row[1] >= max(row[2], row[3])
    check_output(model.predict(QUERIES, embedder), model.labels)


def test_apply_hierarchy_raises_each_ancestor_to_its_best_descendant(trained):
    model, _ = trained
    # Billing, Billing > Invoice, Billing > Refund, Delivery, Delivery > Damaged,
    # Delivery > Late, Unused
    raw = np.array([[0.1, 0.2, 0.7, 0.9, 0.3, 0.1, 0.05]])
    assert model.apply_hierarchy(raw).tolist() == [[0.7, 0.2, 0.7, 0.9, 0.3, 0.1, 0.05]]
    assert raw[0, 0] == 0.1  # the input is not modified


def test_round_trip_through_bytes_predicts_identically(trained, embedder):
    model, _ = trained
    data = model.to_bytes()
    assert isinstance(data, bytes) and len(data) < 1_000_000
    loaded = LabelModel.from_bytes(data)
    assert loaded.labels == model.labels
    assert loaded.thresholds == model.thresholds
    assert loaded.embedding_model_id == model.embedding_model_id
    assert loaded.has_sentiment is False
    assert loaded.predict(QUERIES, embedder) == model.predict(QUERIES, embedder)


def test_from_bytes_rejects_garbage():
    with pytest.raises(ValueError):
        LabelModel.from_bytes(b"not a model")


def test_predict_refuses_another_embedding_model(trained, embedder):
    model, _ = trained

    class Other:
        model_id = "another-model"

    with pytest.raises(ValueError, match="another-model"):
        model.predict(["x"], Other())


def test_targets_assigned_child_implies_parent_and_dismissal_covers_descendants():
    labels = ["A", "A > B", "A > C", "D"]
    examples = [
        Example("1", "t", {"A > B": "positive"}),       # reviewed: counts for every label
        Example("2", "t", {}, dismissed={"A"}),          # counts only for A and its children
        Example("3", "t", {"A > C": None}, dismissed={"A > C"}),  # assigned wins
        Example("4", "t", {}, reviewed=True),            # "none of these": all negatives
        Example("5", "t", {"A > B": "negative", "A > C": "negative", "D": "positive"}),
    ]
    Y, M, Z = targets(examples, labels)
    assert Y.tolist() == [[True, True, False, False], [False] * 4, [True, False, True, False],
                          [False] * 4, [True] * 4]
    assert M.tolist() == [[True] * 4, [True, True, True, False], [True] * 4, [True] * 4,
                          [True] * 4]
    # The implied parent takes its children's majority sign.
    assert Z.tolist() == [[1, 1, 0, 0], [0] * 4, [0] * 4, [0] * 4, [-1, -1, -1, 1]]


def test_dismissed_labels_act_as_negatives(embedder):
    base = make_examples(per_label=12, seed=3)
    rng = random.Random(4)
    # Comments about refunds on which "Billing > Refund" was dismissed.
    dismissals = [Example(f"x{i}", sentence(rng, "Billing > Refund"), {},
                          dismissed={"Billing > Refund"}) for i in range(30)]
    names = sorted(PHRASES)
    without, _ = train(base, names, embedder, has_sentiment=False)
    with_dismissals, _ = train(base + dismissals, names, embedder, has_sentiment=False)

    def p_refund(model):
        row = model.predict(["I would like a refund"], embedder)[0]
        return next(p.probability for p in row if p.name == "Billing > Refund")

    assert p_refund(with_dismissals) < p_refund(without) - 0.2


def test_sentiment_sign_is_learnt_per_label_and_parents_follow_children(embedder):
    rng = random.Random(5)
    good = ["I love how fast the refund was, wonderful service", "great, thanks a lot, very happy",
            "excellent and friendly help, delighted"]
    bad = ["this is terrible, I am furious", "awful service, very angry and disappointed",
           "worst experience ever, unacceptable"]
    examples = []
    for i in range(40):
        label = "Billing > Refund" if i % 2 else "Delivery > Late"
        positive = (i // 2) % 2 == 0
        text = f"{sentence(rng, label)}. {rng.choice(good if positive else bad)}"
        examples.append(Example(f"s{i}", text, {label: "positive" if positive else "negative"}))
    model, _ = train(examples, ["Billing > Refund", "Delivery > Late"], embedder,
                     has_sentiment=True)
    assert model.has_sentiment
    happy, angry = model.predict(["refund received, wonderful, I am delighted thank you",
                                  "my refund is terrible, I am furious and disappointed"],
                                 embedder)
    for row, sign in ((happy, 1), (angry, -1)):
        by_name = {p.name: p for p in row}
        assert all(-1.0 <= p.sentiment <= 1.0 for p in row)
        assert by_name["Billing > Refund"].sentiment * sign > 0.2
        # "Billing" has its own (implied) sentiment examples: it learnt the sign too.
        assert by_name["Billing"].sentiment * sign > 0.2
    loaded = LabelModel.from_bytes(model.to_bytes())
    assert loaded.predict(["terrible refund"], embedder) == model.predict(["terrible refund"],
                                                                         embedder)


def test_parent_without_sentiment_model_takes_most_probable_childs(embedder):
    rng = random.Random(6)
    examples = []
    for i in range(24):
        label = ["Billing > Refund", "Billing > Invoice"][i % 2]
        sentiment = "positive" if (i // 2) % 2 else "negative"
        # Sentiment only on the children; the parent is explicitly assigned without one,
        # so it has no sentiment examples of its own.
        examples.append(Example(f"p{i}", sentence(rng, label),
                                {label: sentiment, "Billing": None}))
    model, _ = train(examples, ["Billing > Refund", "Billing > Invoice"], embedder,
                     has_sentiment=True)
    assert model.sentiment_kind[model.labels.index("Billing")] == 0
    for row in model.predict(QUERIES, embedder):
        by_name = {p.name: p for p in row}
        children = sorted((p for p in row if p.name.startswith("Billing > ")),
                          key=lambda p: (-p.probability, p.name))
        assert by_name["Billing"].sentiment == children[0].sentiment


def test_labels_without_examples_and_tiny_data_do_not_break_training(embedder):
    names = ["Billing > Refund", "Empty > Child", "Lonely"]
    for examples in ([], [Example("only", "refund please", {"Billing > Refund": None})],
                     [Example(f"u{i}", "same text", {"Lonely": "negative"}) for i in range(3)]):
        model, validation = train(examples, names, embedder, has_sentiment=True)
        assert model.labels == ["Billing", "Billing > Refund", "Empty", "Empty > Child", "Lonely"]
        predictions = model.predict(QUERIES, embedder)
        check_output(predictions, model.labels)
        assert all(p.sentiment == 0.0 for row in predictions for p in row)
        assert validation.rating_quality == "none"
        assert set(model.thresholds) == set(model.labels)
        LabelModel.from_bytes(model.to_bytes())
    assert train([], [], embedder, has_sentiment=False)[0].predict(["x"], embedder) == [[]]


def test_training_uses_the_cache_and_reports_progress(embedder, examples):
    cache = MemoryEmbeddingCache()
    messages = []
    train(examples, sorted(PHRASES), embedder, has_sentiment=False, cache=cache,
          progress=messages.append)
    assert len(cache) == len({e.text for e in examples})
    assert messages[0] == f"embedding {len(examples)} comments"
    assert messages[-1].startswith("trained in ")


def test_training_is_deterministic(examples, embedder):
    names = sorted(PHRASES)
    a, _ = train(examples, names, embedder, has_sentiment=False, seed=7)
    b, _ = train(examples, names, embedder, has_sentiment=False, seed=7)
    assert a.predict(QUERIES, embedder) == b.predict(QUERIES, embedder)
    assert np.array_equal(a.sparse_coef, b.sparse_coef)


def test_many_labels_keep_fewer_tfidf_features(examples, embedder, monkeypatch):
    """Features x labels is capped (MAX_COEFFICIENTS): a many-label model keeps
    fewer n-gram features instead of a coefficient matrix of gigabytes."""
    from reinfer_clone.classifier import features

    labels = ["Billing > Invoice", "Billing > Refund", "Delivery > Damaged", "Delivery > Late", "Unused"]
    free, _ = train(examples, labels, embedder, has_sentiment=False)
    count = len(free.labels)  # ancestors included: 7
    assert free.features.size > 40
    monkeypatch.setattr(features, "MAX_COEFFICIENTS", 40 * count)
    capped, _ = train(examples, labels, embedder, has_sentiment=False)
    assert 0 < capped.features.size <= 40
    assert capped.sparse_coef.shape == (capped.features.size, count)
    check_output(capped.predict(QUERIES, embedder), capped.labels)


def test_feature_budget_bounds_the_coefficients():
    from reinfer_clone.classifier.features import MAX_COEFFICIENTS, MAX_FEATURES, feature_budget

    assert feature_budget(77) == MAX_FEATURES  # banking77: unchanged
    for labels in (600, 1_000, 10_000, 100_000):
        assert feature_budget(labels) * labels <= MAX_COEFFICIENTS
    assert feature_budget(10_000) == MAX_COEFFICIENTS // 10_000
