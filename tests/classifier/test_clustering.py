"""Clustering on synthetic vectors: blobs around random directions, whose true
grouping is known, and texts whose topic words are known."""
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from reinfer_clone.classifier import clustering
from reinfer_clone.classifier.clustering import auto_clusters, cluster, distinctive_terms

TOPICS = {
    "refund": "I want a refund of my money for order {n}, please help",
    "delivery": "my parcel delivery {n} is late and the courier is lost, please help",
    "password": "I forgot my password {n} and cannot login, please help",
    "invoice": "the invoice {n} shows the wrong VAT amount, please help",
}


def blobs(sizes, dim=32, noise=0.05, seed=1):
    """Points around len(sizes) random unit directions; returns (vectors, truth)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((len(sizes), dim))
    vectors, truth = [], []
    for label, size in enumerate(sizes):
        vectors.append(centers[label] / np.linalg.norm(centers[label]) + noise * rng.standard_normal((size, dim)))
        truth += [label] * size
    return np.vstack(vectors).astype(np.float32), np.array(truth)


def topic_texts(truth):
    names = list(TOPICS)
    return [TOPICS[names[label]].format(n=1000 + i) for i, label in enumerate(truth)]


def labels_of(clusters, n):
    out = np.full(n, -1)
    for number, c in enumerate(clusters):
        out[c.indices] = number
    assert (out >= 0).all(), "every point belongs to one cluster"
    return out


def test_recovers_blobs_sorted_by_size():
    vectors, truth = blobs([10, 40, 20, 30])
    clusters = cluster(vectors, topic_texts(truth), n_clusters=4)
    assert [c.size for c in clusters] == [40, 30, 20, 10]
    assert all(c.size == len(c.indices) for c in clusters)
    assert adjusted_rand_score(truth, labels_of(clusters, len(truth))) == 1.0
    for c in clusters:
        assert -1.0 <= c.centroid_similarity <= 1.0 and c.centroid_similarity > 0.9


def test_terms_are_the_distinctive_words_of_each_topic():
    vectors, truth = blobs([12, 12, 12, 12])
    texts = topic_texts(truth)
    clusters = cluster(vectors, texts, n_clusters=4)
    names = list(TOPICS)
    for c in clusters:
        topic = names[truth[c.indices[0]]]
        assert 0 < len(c.terms) <= clustering.NUM_TERMS
        assert all(isinstance(t, str) and t for t in c.terms)
        assert topic in " ".join(c.terms), (topic, c.terms)
        # Shared by every topic, stop words, or numbers: never distinctive.
        words = {w for t in c.terms for w in t.split()}
        assert not words & {"help", "please", "my", "the", "and"}
        assert not any(w.isdigit() for w in words)


def test_terms_do_not_repeat_words_already_shown():
    texts = ["card arrived late"] * 3 + ["refund money now"] * 3
    (card, refund) = distinctive_terms(texts, [[0, 1, 2], [3, 4, 5]], top=10)
    for terms in (card, refund):
        seen = set()
        for term in terms:
            assert not set(term.split()) <= seen, terms
            seen |= set(term.split())
    assert {w for t in card for w in t.split()} == {"card", "arrived", "late"}


def test_terms_of_texts_without_words_are_empty():
    assert distinctive_terms(["the", "and a", "123"], [[0, 1], [2]]) == [[], []]
    assert distinctive_terms([], []) == []


def test_samples_are_members_closest_to_the_centroid_first():
    vectors, truth = blobs([30, 30], noise=0.2)
    clusters = cluster(vectors, topic_texts(truth), n_clusters=2, num_samples=4)
    for c in clusters:
        assert len(c.samples) == 4 and set(c.samples) <= set(c.indices)
        members = vectors[c.indices] / np.linalg.norm(vectors[c.indices], axis=1, keepdims=True)
        centroid = members.mean(axis=0)
        similarity = dict(zip(c.indices, members @ (centroid / np.linalg.norm(centroid))))
        ranked = sorted(c.indices, key=lambda i: -similarity[i])
        assert c.samples == ranked[:4]
    tiny = cluster(vectors[:3], ["a b", "c d", "e f"], n_clusters=1)
    assert tiny[0].samples and len(tiny[0].samples) == 3


def test_automatic_number_of_clusters():
    assert [auto_clusters(n) for n in (1, 2, 3, 8, 60, 90, 20_000, 10**6)] == [1, 2, 2, 2, 5, 7, 100, 100]
    vectors, truth = blobs([25, 25, 25, 25])
    clusters = cluster(vectors, topic_texts(truth))
    assert len(clusters) == auto_clusters(100) == 7
    assert sum(c.size for c in clusters) == 100
    # More clusters than topics split topics; they never mix two.
    for c in clusters:
        assert len(set(truth[c.indices])) == 1


def test_fewer_distinct_points_than_clusters():
    base, _ = blobs([1, 1, 1], noise=0.0)
    vectors = np.repeat(base, [5, 3, 2], axis=0)
    clusters = cluster(vectors, ["refund"] * 5 + ["card"] * 3 + ["login"] * 2, n_clusters=5)
    assert [c.size for c in clusters] == [5, 3, 2]
    assert [c.terms for c in clusters] == [["refund"], ["card"], ["login"]]


def test_more_clusters_than_points_and_edge_sizes():
    vectors, truth = blobs([2, 1])
    assert sorted(c.size for c in cluster(vectors, topic_texts(truth), n_clusters=50)) == [1, 1, 1]
    assert cluster(np.zeros((0, 8), dtype=np.float32), []) == []
    (single,) = cluster(vectors[:1], ["lonely comment"])
    assert single.indices == [0] and single.samples == [0] and single.terms == ["lonely comment"]


def test_bad_input_is_refused():
    vectors, truth = blobs([3, 3])
    with pytest.raises(ValueError, match="texts"):
        cluster(vectors, ["x"] * 5)
    with pytest.raises(ValueError, match="2-d"):
        cluster(vectors[0], ["x"])
    with pytest.raises(ValueError, match="finite"):
        cluster(np.full((2, 4), np.nan, dtype=np.float32), ["x", "y"])
    with pytest.raises(ValueError, match="at least 1"):
        cluster(vectors, topic_texts(truth), n_clusters=0)


def test_same_seed_same_answer():
    vectors, truth = blobs([20, 20, 20], noise=0.4)
    texts = topic_texts(truth)
    first = cluster(vectors, texts, n_clusters=5, seed=7)
    assert cluster(vectors, texts, n_clusters=5, seed=7) == first


def test_large_inputs_fit_on_a_sample_then_assign_every_point(monkeypatch):
    monkeypatch.setattr(clustering, "FIT_SAMPLE", 40)
    monkeypatch.setattr(clustering, "BLOCK", 64)  # several assignment blocks
    vectors, truth = blobs([120, 90, 60, 30], noise=0.1)
    clusters = cluster(vectors, topic_texts(truth), n_clusters=4)
    assert [c.size for c in clusters] == [120, 90, 60, 30]
    assert adjusted_rand_score(truth, labels_of(clusters, len(truth))) == 1.0
