"""A nearest-neighbour index of (id -> L2-normalised vector), by cosine similarity.

Exact search (an `IndexFlatIP` in an `IndexIDMap2`) while the index is small;
above `EXACT_LIMIT` vectors an inverted-file index (`IndexIVFFlat`, about
4·sqrt(n) lists) whose `nprobe` is tuned at each build, on a sample of the
stored vectors, for recall@10 of at least `TARGET_RECALL` against exact search.
The IVF index is retrained once it has doubled (or halved) since it was built,
so its lists stay balanced while comments keep arriving; it goes back to exact
search when it shrinks well below the limit. A build holds the lock, so searches
wait for it: for a million 384-d vectors on two cores, about a minute on
clustered data and 3.5 minutes on uniform random data, where recall needs
most lists probed (bench/search.py).

Vectors are stored once, inside faiss (IVF lists hold the raw float32 rows),
and read back out of it for a rebuild; beside them, a Python set of the ids
(for replace-on-add and `allowed`). A million 384-d vectors take about 2 GB.

Thread-safe: one lock serialises every call. `allowed` restricts a search to
some ids: small sets are searched exactly over their own vectors, large ones
with faiss's id selector (and, on IVF, more lists probed in proportion).
"""
from __future__ import annotations

import math
import threading
from typing import Iterable

import faiss
import numpy as np

EXACT_LIMIT = 50_000
TARGET_RECALL = 0.95
# Recall is tuned at this depth, on this many sample queries.
TUNE_K = 10
TUNE_QUERIES = 256
# k-means sees this many vectors per list at most: enough for stable
# centroids, and it bounds the training time for large indexes.
TRAIN_PER_LIST = 40
# Lloyd iterations of that k-means (faiss defaults to 25; lists barely change after 10).
KMEANS_ITERATIONS = 10
# An `allowed` set this small is searched exactly, over its own vectors.
BRUTE_FORCE_LIMIT = 20_000


def _as_ids(ids: Iterable[int]) -> np.ndarray:
    return np.ascontiguousarray(np.fromiter((int(i) for i in ids), dtype=np.int64))


def _normalised(vectors, dimension: int) -> np.ndarray:
    """float32 rows of unit length; the caller's array itself when it already is
    one (a million embeddings are 1.5 GB: no needless copies)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    vectors = np.ascontiguousarray(vectors[None, :] if vectors.ndim == 1 else vectors)
    if vectors.ndim != 2 or vectors.shape[1] != dimension:
        raise ValueError(f"expected vectors of dimension {dimension}, got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.all(np.isfinite(norms)):
        raise ValueError("vectors must be finite")
    if np.all(np.abs(norms - 1) < 1e-4):
        return vectors
    return vectors / np.maximum(norms, 1e-12)[:, None]


def _top(scores: np.ndarray, ids: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Best k of scores (1-d), ties by smaller id."""
    if len(ids) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        scores, ids = scores[part], ids[part]
    order = np.lexsort((ids, -scores))
    return [(int(ids[i]), float(scores[i])) for i in order]


class VectorIndex:
    def __init__(self, dimension: int, exact_limit: int = EXACT_LIMIT):
        self.dimension = int(dimension)
        self.exact_limit = int(exact_limit)
        self._lock = threading.Lock()
        self._ids: set[int] = set()
        self._index = self._flat()
        # IVF only: the size it was trained at, and its tuned nprobe.
        self._trained_size = 0
        self.nprobe = 0

    # --- state ---------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def __contains__(self, id_) -> bool:
        with self._lock:
            return int(id_) in self._ids

    @property
    def kind(self) -> str:
        return "ivf" if self._trained_size else "exact"

    @property
    def nlist(self) -> int:
        return self._index.nlist if self._trained_size else 0

    # --- updates -------------------------------------------------------------------------

    def add(self, ids, vectors) -> None:
        """Add or replace: an id already present gets the new vector."""
        ids = _as_ids(ids)
        vectors = _normalised(vectors, self.dimension) if len(ids) else np.zeros((0, self.dimension), np.float32)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids) == 0:
            return
        unique, last = np.unique(ids[::-1], return_index=True)
        if len(unique) < len(ids):
            # The last of repeated ids wins, as a replace would.
            keep = np.sort(len(ids) - 1 - last)
            ids, vectors = ids[keep], vectors[keep]
        with self._lock:
            self._remove([i for i in ids.tolist() if i in self._ids])
            if not self._trained_size and len(self._ids) + len(ids) > self.exact_limit:
                # Straight to IVF: never hold a large batch in a flat index first.
                stored_ids, stored = self._contents()
                if len(stored_ids):
                    ids, vectors = np.concatenate([stored_ids, ids]), np.concatenate([stored, vectors])
                del stored
                self._build_ivf(ids, vectors)
            else:
                self._index.add_with_ids(vectors, ids)
            self._ids.update(ids.tolist())
            self._maybe_rebuild()

    def remove(self, ids) -> int:
        """Remove the ids that are present; returns how many were."""
        with self._lock:
            present = [i for i in _as_ids(ids).tolist() if i in self._ids]
            self._remove(present)
            self._maybe_rebuild()
            return len(present)

    def _remove(self, ids: list[int]) -> None:
        if not ids:
            return
        array = np.ascontiguousarray(np.array(ids, dtype=np.int64))
        if self._trained_size:
            # An IVF direct map (a hashtable) removes only by an explicit id array,
            # which it looks up; a flat index tests every row, so give it a hash set.
            selector = faiss.IDSelectorArray(len(array), faiss.swig_ptr(array))
        else:
            selector = faiss.IDSelectorBatch(len(array), faiss.swig_ptr(array))
        self._index.remove_ids(selector)
        self._ids.difference_update(ids)

    # --- search --------------------------------------------------------------------------

    def search(self, vector, k: int, allowed: set | None = None) -> list[tuple[int, float]]:
        """The k most similar (id, cosine similarity), best first; only ids in
        `allowed` when it is given."""
        query = _normalised(vector, self.dimension)
        if query.shape[0] != 1:
            raise ValueError("search takes one vector")
        if k <= 0:
            return []
        with self._lock:
            if allowed is None:
                return self._search(query, min(k, len(self._ids)), None, self.nprobe)
            wanted = [i for i in allowed if i in self._ids] if len(allowed) < len(self._ids) else \
                [i for i in self._ids if i in allowed]
            if not wanted:
                return []
            if len(wanted) <= BRUTE_FORCE_LIMIT:
                ids = np.array(wanted, dtype=np.int64)
                scores = self._index.reconstruct_batch(ids) @ query[0]
                return _top(scores, ids, k)
            k = min(k, len(wanted))
            array = np.ascontiguousarray(np.array(wanted, dtype=np.int64))
            selector = faiss.IDSelectorBatch(len(array), faiss.swig_ptr(array))
            # Fewer allowed ids per list: probe more lists to see as many candidates.
            share = len(wanted) / len(self._ids)
            nprobe = min(self.nlist, math.ceil(self.nprobe / share)) if self._trained_size else 0
            found = self._search(query, k, selector, nprobe)
            if len(found) < k and self._trained_size and nprobe < self.nlist:
                found = self._search(query, k, selector, self.nlist)
            return found

    def _search(self, query, k, selector, nprobe) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        if self._trained_size:
            params = faiss.SearchParametersIVF(nprobe=max(1, nprobe))
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        scores, ids = self._index.search(query, k, params=params)
        # Equal scores (duplicate texts are common) in id order, as `_top` does.
        return sorted(((int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0), key=lambda h: (-h[1], h[0]))

    # --- building ------------------------------------------------------------------------

    def _flat(self):
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))

    def _contents(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) stored, read back out of faiss."""
        index, d = self._index, self.dimension
        if not self._trained_size:
            n = index.ntotal
            if n == 0:
                return np.zeros(0, np.int64), np.zeros((0, d), np.float32)
            flat = faiss.downcast_index(index.index)
            vectors = faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d).copy()
            return faiss.vector_to_array(index.id_map).copy(), vectors
        lists = index.invlists
        all_ids = np.empty(index.ntotal, dtype=np.int64)
        all_vectors = np.empty((index.ntotal, d), dtype=np.float32)
        at = 0
        for number in range(index.nlist):
            size = lists.list_size(number)
            if size:
                all_ids[at:at + size] = faiss.rev_swig_ptr(lists.get_ids(number), size)
                codes = faiss.rev_swig_ptr(lists.get_codes(number), size * index.code_size)
                all_vectors[at:at + size] = codes.view(np.float32).reshape(size, d)
                at += size
        return all_ids, all_vectors

    def _maybe_rebuild(self) -> None:
        n = len(self._ids)
        if not self._trained_size:
            if n > self.exact_limit:
                self._build_ivf(*self._contents())
        elif n <= self.exact_limit // 2:
            ids, vectors = self._contents()
            self._index, self._trained_size, self.nprobe = self._flat(), 0, 0
            self._index.add_with_ids(vectors, ids)
        elif n >= 2 * self._trained_size or 2 * n <= self._trained_size:
            self._build_ivf(*self._contents())

    def _build_ivf(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the index by an IVF one trained on (a sample of) these vectors."""
        n = len(ids)
        nlist = max(1, int(round(4 * math.sqrt(n))))
        rng = np.random.default_rng(n)
        sample = vectors[rng.choice(n, min(n, TRAIN_PER_LIST * nlist), replace=False)]
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dimension), self.dimension, nlist,
                                   faiss.METRIC_INNER_PRODUCT)
        index.cp.min_points_per_centroid = 1  # the sample is sized on purpose: no warning
        index.cp.niter = KMEANS_ITERATIONS
        index.train(sample)
        del sample
        # Ids are comment keys, not 0..n-1: remove and reconstruct need a hashtable.
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        # The old index goes before the vectors are copied in: two copies at most.
        self._index = None
        index.add_with_ids(vectors, ids)
        self._index, self._trained_size = index, n
        self.nprobe = self._tune(index, ids, vectors, rng)

    def _tune(self, index, ids, vectors, rng) -> int:
        """The smallest nprobe whose recall@10 on sample queries (stored vectors,
        themselves left out) reaches the target, by bisection."""
        n = len(ids)
        k = min(TUNE_K, n - 1)
        if k <= 0:
            return 1
        rows = rng.choice(n, min(n, TUNE_QUERIES), replace=False)
        queries = vectors[rows]
        truth = []
        for start in range(0, len(rows), 32):  # 32 score rows at a time bound the memory
            scores = queries[start:start + 32] @ vectors.T
            scores[np.arange(len(scores)), rows[start:start + 32]] = -np.inf
            truth.extend(set(ids[top].tolist()) for top in np.argpartition(-scores, k - 1, axis=1)[:, :k])
        own = ids[rows].tolist()

        def recall(nprobe: int) -> float:
            _, found = index.search(queries, k + 1, params=faiss.SearchParametersIVF(nprobe=nprobe))
            hits = 0
            for true, got, self_id in zip(truth, found, own):
                got = [i for i in got.tolist() if i != self_id][:k]
                hits += len(true.intersection(got))
            return hits / (k * len(truth))

        low, high = 0, 1  # recall(low) is below target, recall(high) unknown
        while high < index.nlist and recall(high) < TARGET_RECALL:
            low, high = high, min(index.nlist, high * 2)
        while high - low > 1:
            middle = (low + high) // 2
            if recall(middle) >= TARGET_RECALL:
                high = middle
            else:
                low = middle
        return high
