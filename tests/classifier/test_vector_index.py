import threading

import numpy as np
import pytest

from reinfer_clone.classifier import vector_index
from reinfer_clone.classifier.vector_index import VectorIndex

D = 32


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, seed: int, centres: int = 60) -> np.ndarray:
    """Vectors around a few random directions, as sentence embeddings are."""
    rng = np.random.default_rng(seed)
    middle = rng.standard_normal((centres, D))
    return unit(middle[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, D)))


def exact(vectors, ids, query, k, allowed=None) -> list[tuple[int, float]]:
    ids = np.asarray(ids)
    scores = unit(np.asarray(vectors, dtype=np.float64)) @ (query / np.linalg.norm(query))
    order = [i for i in np.lexsort((ids, -scores)) if allowed is None or ids[i] in allowed]
    return [(int(ids[i]), float(scores[i])) for i in order[:k]]


def assert_same(found, expected):
    assert [i for i, _ in found] == [i for i, _ in expected]
    assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-5)


def recall(index, vectors, ids, queries, k=10) -> float:
    hits = 0
    for query in queries:
        truth = {i for i, _ in exact(vectors, ids, query, k)}
        hits += len(truth & {i for i, _ in index.search(query, k)})
    return hits / (k * len(queries))


def test_small_index_is_exact_and_normalises():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((300, D)) * 5  # not unit length on purpose
    ids = rng.choice(10**12, 300, replace=False)
    index = VectorIndex(D)
    index.add(ids, vectors)
    assert index.kind == "exact" and len(index) == 300 and int(ids[7]) in index
    for query in rng.standard_normal((5, D)):
        found = index.search(query, 10)
        assert_same(found, exact(vectors, ids, query, 10))
        assert all(-1.0 <= s <= 1.0 + 1e-6 for _, s in found)
    assert len(index.search(rng.standard_normal(D), 1000)) == 300
    assert index.search(rng.standard_normal(D), 0) == []
    assert VectorIndex(D).search(rng.standard_normal(D), 5) == []


def test_add_replaces_and_remove_forgets():
    rng = np.random.default_rng(2)
    vectors = unit(rng.standard_normal((50, D)))
    index = VectorIndex(D)
    index.add(range(50), vectors)
    # Re-adding id 3 with id 10's vector: same size, and a query for it finds both.
    index.add([3], vectors[10:11])
    assert len(index) == 50
    assert {i for i, _ in index.search(vectors[10], 2)} == {3, 10}
    assert index.search(vectors[3], 1)[0][0] != 3
    # Repeated ids in one call: the last one wins.
    index.add([60, 60], np.stack([vectors[20], vectors[30]]))
    assert len(index) == 51 and index.search(vectors[30], 2)[0] == (30, pytest.approx(1.0, abs=1e-5))
    assert 60 in {i for i, _ in index.search(vectors[30], 2)}
    assert index.remove([3, 10, 999]) == 2
    assert index.remove([3]) == 0
    assert len(index) == 49 and 3 not in index
    assert {3, 10}.isdisjoint(i for i, _ in index.search(vectors[10], 49))


@pytest.mark.parametrize("brute_force_limit", [10**6, 5])
def test_allowed_restricts_the_search(monkeypatch, brute_force_limit):
    # Small sets are scored over their own rows, large ones over every row.
    monkeypatch.setattr(vector_index, "BRUTE_FORCE_LIMIT", brute_force_limit)
    rng = np.random.default_rng(3)
    vectors = unit(rng.standard_normal((400, D)))
    index = VectorIndex(D)
    index.add(range(400), vectors)
    allowed = set(rng.choice(400, 40, replace=False).tolist()) | {10_000}  # an absent id is ignored
    query = rng.standard_normal(D)
    found = index.search(query, 8, allowed=allowed)
    assert_same(found, exact(vectors, range(400), query, 8, allowed))
    assert len(index.search(query, 100, allowed=allowed)) == 40
    assert index.search(query, 5, allowed=set()) == []
    assert index.search(query, 5, allowed={10_000}) == []


def assert_exact_scores(found, vectors, ids, query):
    """Whatever the index, the similarities it returns are exact."""
    by_id = dict(zip(ids, unit(np.asarray(vectors, dtype=np.float64)) @ (query / np.linalg.norm(query))))
    assert [s for _, s in found] == pytest.approx([by_id[i] for i, _ in found], abs=1e-5)


def test_quantizer_above_the_limit_keeps_recall_and_rebuilds_as_it_grows_and_shrinks():
    data = clustered(6050, seed=4)
    vectors, queries = data[:6000], data[6000:]  # held-out queries from the same distribution
    index = VectorIndex(D, exact_limit=1000)
    index.add(range(1500), vectors[:1500])
    assert index.kind == "pq" and index.trained_size == 1500
    assert 10 <= index.depth < 1500
    assert recall(index, vectors[:1500], range(1500), queries) >= 0.9
    # Grown by a third: new vectors are encoded with the same codebooks.
    index.add(range(1500, 2000), vectors[1500:2000])
    assert index.trained_size == 1500 and 1700 in {i for i, _ in index.search(vectors[1700], 1)}
    # Doubled: retrained.
    index.add(range(2000, 6000), vectors[2000:])
    assert index.trained_size == 6000
    assert recall(index, vectors, range(6000), queries) >= 0.9
    assert_exact_scores(index.search(queries[0], 10), vectors, list(range(6000)), queries[0])
    # Updates, removals and allowed sets work on the quantizer too.
    index.add([0], vectors[1:2])
    assert {i for i, _ in index.search(vectors[1], 2)} == {0, 1}
    assert index.remove(range(100, 200)) == 100
    assert set(range(100, 200)).isdisjoint(i for i, _ in index.search(vectors[150], 50))
    allowed = set(range(3000, 3020))
    assert_same(index.search(queries[0], 5, allowed=allowed), exact(vectors, range(6000), queries[0], 5, allowed))
    # Shrunk well below the limit: exact again, over the rows kept.
    index.remove(range(400, 6000))
    assert index.kind == "exact" and len(index) == 300 and index.stored == 300
    kept = [0] + list(range(1, 100)) + list(range(200, 400))
    kept_vectors = np.concatenate([vectors[1:2], vectors[1:100], vectors[200:400]])
    assert_same(index.search(queries[1], 10), exact(kept_vectors, kept, queries[1], 10))


def test_quantizer_keeps_recall_on_uniform_random_vectors():
    # No neighbourhoods to find: the re-rank has to go deepest here.
    rng = np.random.default_rng(6)
    data = unit(rng.standard_normal((4050, D)))
    vectors, queries = data[:4000], data[4000:]
    index = VectorIndex(D, exact_limit=1000)
    index.add(range(4000), vectors)
    assert index.kind == "pq"
    assert recall(index, vectors, range(4000), queries) >= 0.9
    for query in queries[:5]:
        assert_exact_scores(index.search(query, 10), vectors, list(range(4000)), query)


def test_exact_duplicates_need_no_deep_rerank():
    # Comments repeat (auto-replies, "thanks"): any of a vector's duplicates is as good
    # a neighbour as another, so tuning must not chase one particular set of them.
    rng = np.random.default_rng(9)
    texts = unit(rng.standard_normal((100, D)))
    index = VectorIndex(D, exact_limit=1000)
    index.add(range(3000), np.repeat(texts, 30, axis=0))
    assert index.kind == "pq" and index.depth <= 50
    found = index.search(texts[4], 10)
    assert len(found) == 10 and {i // 30 for i, _ in found} == {4}
    assert all(s == pytest.approx(1.0, abs=1e-5) for _, s in found)


def test_large_allowed_sets_on_the_quantizer(monkeypatch):
    monkeypatch.setattr(vector_index, "BRUTE_FORCE_LIMIT", 50)
    data = clustered(3000, seed=7)
    index = VectorIndex(D, exact_limit=1000)
    index.add(range(3000), data)
    rng = np.random.default_rng(7)
    for share in (0.5, 0.05):
        allowed = set(rng.choice(3000, int(3000 * share), replace=False).tolist())
        hits = 0
        for query in data[:20]:
            found = index.search(query, 10, allowed=allowed)
            assert len(found) == 10 and {i for i, _ in found} <= allowed
            hits += len({i for i, _ in exact(data, range(3000), query, 10, allowed)} & {i for i, _ in found})
        assert hits / 200 >= 0.9


def test_replaced_and_removed_rows_are_compacted():
    rng = np.random.default_rng(8)
    index = VectorIndex(D, exact_limit=1000)
    vectors = unit(rng.standard_normal((1200, D)))
    index.add(range(1200), vectors)
    assert index.kind == "pq" and index.stored == 1200
    latest = vectors.copy()
    for _ in range(3):  # every vector replaced three times over
        latest = unit(rng.standard_normal((1200, D)))
        for start in range(0, 1200, 100):
            index.add(range(start, start + 100), latest[start:start + 100])
    assert len(index) == 1200 and index.stored < 1200 * 1.5
    assert recall(index, latest, range(1200), latest[:20]) >= 0.9
    assert index.search(latest[7], 1)[0] == (7, pytest.approx(1.0, abs=1e-5))
    index.remove(range(0, 1200, 2))
    assert len(index) == 600 and index.kind == "exact" and index.stored < 900
    assert_same(index.search(latest[3], 10), exact(latest[1::2], range(1, 1200, 2), latest[3], 10))


def test_bad_input_is_refused():
    index = VectorIndex(D)
    with pytest.raises(ValueError, match="dimension"):
        index.add([1], np.ones((1, D + 1)))
    with pytest.raises(ValueError, match="finite"):
        index.add([1], np.full((1, D), np.nan))
    with pytest.raises(ValueError, match="ids"):
        index.add([1, 2], np.ones((1, D)))
    with pytest.raises(ValueError, match="one vector"):
        index.search(np.ones((2, D)), 3)
    assert len(index) == 0


def test_concurrent_adds_removes_and_searches():
    data = clustered(4000, seed=5)
    index = VectorIndex(D, exact_limit=1000)
    errors = []

    def writer(part):
        try:
            for start in range(part * 1000, (part + 1) * 1000, 100):
                index.add(range(start, start + 100), data[start:start + 100])
                index.remove([start])
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    def reader():
        try:
            for query in data[:200]:
                assert len(index.search(query, 5)) <= 5
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(p,)) for p in range(4)] + [threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(index) == 4000 - 40 and index.kind == "pq"
    removed = set(range(0, 4000, 100))
    assert removed.isdisjoint(i for i, _ in index.search(data[100], 100))
    assert index.search(data[101], 1)[0][0] == 101


def test_a_k_as_large_as_the_index_on_the_quantizer():
    rng = np.random.default_rng(10)
    vectors = unit(rng.standard_normal((1500, D)))
    index = VectorIndex(D, exact_limit=1000)
    index.add(range(1500), vectors)
    assert index.kind == "pq"
    query = rng.standard_normal(D)
    assert_same(index.search(query, 1500), exact(vectors, range(1500), query, 1500))
    assert_same(index.search(query, 600), exact(vectors, range(1500), query, 600))


def test_dead_rows_near_the_query_do_not_cut_results_short():
    # A replaced vector's dead row lies right beside its new one: the quantizer's
    # best rows for a query can be mostly dead.
    rng = np.random.default_rng(11)
    texts = unit(rng.standard_normal((100, D)))
    index = VectorIndex(D, exact_limit=1000)
    index.add(range(3000), np.repeat(texts, 30, axis=0))
    index.add(range(120, 150), np.repeat(texts[4:5], 30, axis=0))  # the same vectors again
    found = index.search(texts[4], 10)
    assert len(found) == 10 and {i // 30 for i, _ in found} == {4}
    # Removing a query's nearest neighbours (as the search service does with
    # stale hits) leaves the next nearest to be found.
    data = clustered(3000, seed=12)
    index = VectorIndex(D, exact_limit=1000)
    index.add(range(3000), data)
    query = data[0] + 0.01
    nearest = [i for i, _ in exact(data, range(3000), query, 40)]
    index.remove(nearest)
    kept = [i for i in range(3000) if i not in set(nearest)]
    assert_same(index.search(query, 10)[:5], exact(data[kept], kept, query, 5))
    assert len(index.search(query, 10)) == 10


def test_ties_go_to_the_smaller_ids():
    vector = unit(np.ones((1, D)))
    index = VectorIndex(D)
    index.add(range(199, -1, -1), np.repeat(vector, 200, axis=0))
    assert [i for i, _ in index.search(vector[0], 5)] == [0, 1, 2, 3, 4]


def test_tiny_limits_and_k_near_the_size():
    rng = np.random.default_rng(13)
    index = VectorIndex(12, exact_limit=0)
    index.add([1], rng.standard_normal((1, 12)))
    assert index.kind == "exact" and len(index) == 1  # too few to train codebooks on
    vectors = unit(rng.standard_normal((400, 12)))
    index.add(range(100, 500), vectors)
    assert index.kind == "pq" and len(index) == 401
    for query in rng.standard_normal((20, 12)):
        assert len(index.search(query, 401)) == 401
        assert len(index.search(query, 395)) == 395
