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
    # Small sets are searched over their own vectors, large ones with faiss's selector.
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


def test_ivf_above_the_limit_keeps_recall_and_rebuilds_as_it_grows_and_shrinks():
    data = clustered(6050, seed=4)
    vectors, queries = data[:6000], data[6000:]  # held-out queries from the same distribution
    index = VectorIndex(D, exact_limit=1000)
    index.add(range(1500), vectors[:1500])
    assert index.kind == "ivf" and index.nlist == round(4 * np.sqrt(1500))
    assert 1 <= index.nprobe <= index.nlist
    assert recall(index, vectors[:1500], range(1500), queries) >= 0.9
    # Doubled: retrained with more lists.
    index.add(range(1500, 6000), vectors[1500:])
    assert index.nlist == round(4 * np.sqrt(6000))
    assert recall(index, vectors, range(6000), queries) >= 0.9
    # Updates, removals and allowed sets work on IVF too.
    index.add([0], vectors[1:2])
    assert {i for i, _ in index.search(vectors[1], 2)} == {0, 1}
    assert index.remove(range(100, 200)) == 100
    assert set(range(100, 200)).isdisjoint(i for i, _ in index.search(vectors[150], 50))
    allowed = set(range(3000, 3020))
    assert_same(index.search(queries[0], 5, allowed=allowed), exact(vectors, range(6000), queries[0], 5, allowed))
    # Shrunk well below the limit: exact again, from the vectors faiss held.
    index.remove(range(400, 6000))
    assert index.kind == "exact" and len(index) == 300
    kept = [0] + list(range(1, 100)) + list(range(200, 400))
    kept_vectors = np.concatenate([vectors[1:2], vectors[1:100], vectors[200:400]])
    assert_same(index.search(queries[1], 10), exact(kept_vectors, kept, queries[1], 10))


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
    assert len(index) == 4000 - 40 and index.kind == "ivf"
    removed = set(range(0, 4000, 100))
    assert removed.isdisjoint(i for i, _ in index.search(data[100], 100))
    assert index.search(data[101], 1)[0][0] == 101
