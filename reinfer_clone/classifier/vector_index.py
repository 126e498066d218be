"""A nearest-neighbour index of (id -> L2-normalised vector), by cosine similarity.

The float32 vectors are kept once, in rows of fixed-size blocks (growing never
copies what is stored), with a row -> id array, an id -> row dict and a
live-row mask: replacing or removing a vector only marks its old row dead, and
the rows are compacted once dead ones are a quarter of them.

Exact search (one matrix-vector product over the rows) while the index is
small. Above `EXACT_LIMIT` live vectors, two steps:

1. a product quantizer with 4-bit codes (faiss `IndexPQFastScan`, one
   sub-quantizer per 4 dimensions: 48 bytes per 384-d vector) ranks every row
   by approximate similarity; its SIMD scan reads 48 MB for a million vectors,
   a few milliseconds on one core, whatever the shape of the data;
2. the best `depth` of those are scored exactly from the float32 rows, and the
   best k of those are returned, with exact similarities.

`depth` is tuned at each build, on a sample of the stored vectors, for
recall@10 of at least `TARGET_RECALL` against exact search (a result as
similar as the true 10th counts, so exact duplicates are interchangeable), and
deepens in proportion to k. Uniform random vectors, where every neighbour is
nearly as far as any other, need the deepest re-rank (about 7,000 of a
million); clustered ones, as sentence embeddings are, a few hundred at most.
New rows are encoded as they arrive (the codebooks stay); the quantizer is
retrained once the index has doubled or halved since it was built, and dropped
when the index shrinks well below the limit. A build holds the lock, so
searches wait for it: 6 to 11 s for a million vectors on two cores
(bench/search.py). Equal scores come back in id order from exact search; from
the quantizer, which of several duplicates comes back is its own.

Thread-safe: one lock serialises every call. `allowed` restricts a search to
some ids: small sets are scored exactly over their own rows; large ones are
ranked by the quantizer as deep as needed to meet as many allowed rows, then
re-ranked.
"""
from __future__ import annotations

import math
import threading
from typing import Iterable

import faiss
import numpy as np

EXACT_LIMIT = 50_000
TARGET_RECALL = 0.97
# Recall is tuned at this depth, on this many sample queries.
TUNE_K = 10
TUNE_QUERIES = 256
# The quantizer's codebooks are trained on at most this many vectors.
TRAIN_SAMPLE = 65_536
# Fewer vectors than this are always searched exactly (4-bit codebooks need
# at least 16 training vectors, and exact search of a few hundred is instant).
MIN_QUANTIZED = 256
# An `allowed` set this small is scored exactly, over its own rows.
BRUTE_FORCE_LIMIT = 20_000
# Rows are compacted once this share of them is dead.
DEAD_SHARE = 0.25
# The tuned re-rank depth stops here: a deeper one would cost more than the
# product quantizer saves (about 100 MB of rows read per query).
MAX_DEPTH = 1 << 16
BLOCK_SHIFT = 15  # 32,768 rows a block: 48 MB at 384 dimensions
NO_SCORE = np.float32(-np.inf)


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
    """Best k of scores (1-d), ties by smaller id; -inf scores are no hits."""
    if len(ids) > k:
        # Every score tied with the k-th stays in, so the smaller ids win the ties.
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= kth
        scores, ids = scores[keep], ids[keep]
    order = np.lexsort((ids, -scores))[:k]
    return [(int(ids[i]), float(scores[i])) for i in order if scores[i] != NO_SCORE]


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros(capacity, dtype=array.dtype)
    grown[:len(array)] = array
    return grown


def _sub_quantizers(dimension: int) -> int:
    """One 4-bit sub-quantizer per 4 dimensions where they divide evenly."""
    for width in (4, 2, 1):
        if dimension % width == 0:
            return dimension // width
    return dimension


class _Rows:
    """Append-only float32 rows in blocks of 2**BLOCK_SHIFT."""

    def __init__(self, dimension: int):
        self.dimension = dimension
        self.blocks: list[np.ndarray] = []
        self.n = 0

    def append(self, vectors: np.ndarray) -> np.ndarray:
        """Stores the vectors; returns their row numbers."""
        first = self.n
        size = 1 << BLOCK_SHIFT
        at = 0
        while at < len(vectors):
            block, offset = divmod(self.n, size)
            if block == len(self.blocks):
                self.blocks.append(np.empty((size, self.dimension), dtype=np.float32))
            count = min(size - offset, len(vectors) - at)
            self.blocks[block][offset:offset + count] = vectors[at:at + count]
            at += count
            self.n += count
        return np.arange(first, self.n, dtype=np.int64)

    def filled(self):
        """(first row, stored rows) of each block, in order."""
        size = 1 << BLOCK_SHIFT
        for number, block in enumerate(self.blocks):
            yield number * size, block[:min(size, self.n - number * size)]

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of these rows, in their order."""
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        blocks = rows >> BLOCK_SHIFT
        offsets = rows & ((1 << BLOCK_SHIFT) - 1)
        for number in np.unique(blocks).tolist():
            where = blocks == number
            out[where] = self.blocks[number][offsets[where]]
        return out

    def scores(self, query: np.ndarray) -> np.ndarray:
        """query · every row."""
        if not self.n:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([block @ query for _, block in self.filled()])


class VectorIndex:
    def __init__(self, dimension: int, exact_limit: int = EXACT_LIMIT):
        self.dimension = int(dimension)
        self.exact_limit = int(exact_limit)
        self._lock = threading.Lock()
        self._rows = _Rows(self.dimension)
        self._row_ids = np.zeros(0, dtype=np.int64)  # by row; capacity grows by doubling
        self._alive = np.zeros(0, dtype=bool)
        self._where: dict[int, int] = {}  # id -> row; every other row is dead
        self._quantizer = None
        # The quantizer only: the size it was trained at, and the tuned re-rank depth.
        self._trained_size = 0
        self.depth = 0

    # --- state ---------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._where)

    def __contains__(self, id_) -> bool:
        with self._lock:
            return int(id_) in self._where

    @property
    def kind(self) -> str:
        return "pq" if self._quantizer is not None else "exact"

    @property
    def stored(self) -> int:
        """Rows held, dead ones (replaced or removed, not yet compacted) included."""
        return self._rows.n

    @property
    def trained_size(self) -> int:
        """How many vectors the quantizer was trained at (0: exact search)."""
        return self._trained_size

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
            self._forget(ids.tolist())
            rows = self._rows.append(vectors)
            if len(self._row_ids) < self._rows.n:
                capacity = max(self._rows.n, 2 * len(self._row_ids))
                self._row_ids = _grown(self._row_ids, capacity)
                self._alive = _grown(self._alive, capacity)
            self._row_ids[rows] = ids
            self._alive[rows] = True
            self._where.update(zip(ids.tolist(), rows.tolist()))
            if self._quantizer is not None:
                # Rows and quantizer labels are both numbered in order of arrival.
                self._quantizer.add(vectors)
            self._maybe_rebuild()

    def remove(self, ids) -> int:
        """Remove the ids that are present; returns how many were."""
        with self._lock:
            removed = self._forget(_as_ids(ids).tolist())
            self._maybe_rebuild()
            return removed

    def _forget(self, ids: list[int]) -> int:
        rows = [row for row in map(self._where.pop, ids, [None] * len(ids)) if row is not None]
        self._alive[rows] = False
        return len(rows)

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
            n = self._rows.n
            if allowed is None:
                if self._quantizer is None:
                    return self._exact_among(query, np.flatnonzero(self._alive[:n]), k)
                return self._ranked(query, k, self._alive[:n], len(self._where))
            where = self._where
            if len(allowed) < len(where):
                rows = [row for row in map(where.get, allowed) if row is not None]
            else:
                rows = [row for id_, row in where.items() if id_ in allowed]
            if not rows:
                return []
            rows = np.array(rows, dtype=np.int64)
            if len(rows) <= BRUTE_FORCE_LIMIT:
                return _top(self._rows.take(rows) @ query[0], self._row_ids[rows], k)
            if self._quantizer is None:
                return self._exact_among(query, rows, k)
            mask = np.zeros(n, dtype=bool)
            mask[rows] = True
            return self._ranked(query, k, mask, len(rows))

    def _exact_among(self, query, rows: np.ndarray, k: int) -> list[tuple[int, float]]:
        # Scored in place, block by block: a large set of rows is not copied out.
        return _top(self._rows.scores(query[0])[rows], self._row_ids[rows], k)

    def _ranked(self, query, k: int, wanted: np.ndarray, count: int) -> list[tuple[int, float]]:
        """The best k of the `wanted` rows (a mask over the rows, `count` of them
        set): the quantizer's best `depth` of them, scored exactly.

        The quantizer ranks every row, dead and unwanted ones too, so it is asked
        for as many more as their share suggests, and for four times more while
        too few wanted rows come back (a replaced vector's dead row lies right
        beside its new one, so dead rows crowd where a query looks). Past a
        quarter of the rows, every wanted row is scored exactly instead: cheaper
        than copying that many out, and faiss's fast scan may leave out the
        last few rows when asked for nearly all of them."""
        n = self._rows.n
        depth = math.ceil(self.depth * max(k, TUNE_K) / TUNE_K)
        reach = math.ceil(depth * n / max(1, count))
        while reach <= n // 4 and depth < count:
            _, rows = self._quantizer.search(query, reach)
            rows = rows[0]
            rows = rows[rows >= 0]
            rows = rows[wanted[rows]]
            if len(rows) >= depth:
                rows = rows[:depth]
                return _top(self._rows.take(rows) @ query[0], self._row_ids[rows], k)
            reach *= 4
        return self._exact_among(query, np.flatnonzero(wanted), k)

    # --- building ------------------------------------------------------------------------

    def _maybe_rebuild(self) -> None:
        live = len(self._where)
        dead = self._rows.n - live
        if dead and dead >= DEAD_SHARE * self._rows.n:
            self._compact()
        if self._quantizer is None:
            if live > max(self.exact_limit, MIN_QUANTIZED):
                self._build()
        elif live <= max(self.exact_limit // 2, MIN_QUANTIZED):
            self._quantizer, self._trained_size, self.depth = None, 0, 0
        elif live >= 2 * self._trained_size or 2 * live <= self._trained_size:
            self._build()

    def _compact(self) -> None:
        """Live rows only, renumbered in order; each old block is let go once copied."""
        old_rows, old_ids, old_alive = self._rows, self._row_ids, self._alive
        self._rows = _Rows(self.dimension)
        ids = []
        for number, (first, block) in enumerate(old_rows.filled()):
            alive = old_alive[first:first + len(block)]
            self._rows.append(block[alive])
            ids.append(old_ids[first:first + len(block)][alive])
            old_rows.blocks[number] = None
        self._row_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        self._alive = np.ones(len(self._row_ids), dtype=bool)
        self._where = dict(zip(self._row_ids.tolist(), range(len(self._row_ids))))
        if self._quantizer is not None:
            self._quantizer = None  # its labels were the old row numbers: rebuilt by the caller
            self._trained_size = 0

    def _build(self) -> None:
        """A quantizer trained on (a sample of) the live rows, holding every row."""
        n = self._rows.n
        rng = np.random.default_rng(n)
        live_rows = np.flatnonzero(self._alive[:n])
        sample = self._rows.take(np.sort(rng.choice(live_rows, min(len(live_rows), TRAIN_SAMPLE), replace=False)))
        quantizer = faiss.IndexPQFastScan(self.dimension, _sub_quantizers(self.dimension), 4,
                                          faiss.METRIC_INNER_PRODUCT)
        quantizer.train(sample)
        del sample
        for _, block in self._rows.filled():
            quantizer.add(block)
        self._quantizer, self._trained_size = quantizer, len(live_rows)
        self.depth = self._tune(live_rows, rng)

    def _tune(self, live_rows: np.ndarray, rng) -> int:
        """The smallest re-rank depth whose recall@10 on sample queries (stored
        vectors, themselves left out) reaches the target, by bisection; at most
        `MAX_DEPTH`. A hit is any result as similar as the 10th true neighbour,
        so exact duplicates (common among comments) count whichever of them
        comes back."""
        n = len(live_rows)
        k = min(TUNE_K, n - 1)
        if k <= 0:
            return 1
        own = np.sort(rng.choice(live_rows, min(n, TUNE_QUERIES), replace=False))
        queries = self._rows.take(own)
        alive = self._alive[:self._rows.n]
        # Rounding: the same pair scores a little differently in a product of
        # another shape.
        kth = self._kth_scores(queries, own, k, alive) - 1e-5
        limit = min(self._rows.n, MAX_DEPTH)
        reach = min(limit, 1024)
        while True:
            _, ranked = self._quantizer.search(queries, reach)
            # Exact scores of each query's ranked rows (self and dead rows: none).
            scores = np.full(ranked.shape, NO_SCORE, dtype=np.float32)
            for q, rows in enumerate(ranked):
                valid = (rows >= 0) & (rows != own[q])
                valid[valid] = alive[rows[valid]]
                scores[q, valid] = self._rows.take(rows[valid]) @ queries[q]

            def recall(depth: int) -> float:
                top = np.partition(scores[:, :depth], depth - k, axis=1)[:, depth - k:] if depth > k \
                    else scores[:, :depth]
                return float(np.count_nonzero(top >= kth[:, None])) / (k * len(own))

            if reach == limit or recall(reach) >= TARGET_RECALL:
                break
            reach = min(limit, reach * 4)
        low, high = 0, reach  # recall(low) is below target (or low is 0), recall(high) meets it
        while high - low > max(1, high // 64):
            middle = (low + high) // 2
            if middle >= k and recall(middle) >= TARGET_RECALL:
                high = middle
            else:
                low = middle
        return max(high, k)

    def _kth_scores(self, queries, own, k, alive) -> np.ndarray:
        """Each query's k-th best exact score among live rows, itself left out."""
        best = np.full((len(queries), 0), NO_SCORE, dtype=np.float32)
        for first, block in self._rows.filled():
            scores = queries @ block.T
            scores[:, ~alive[first:first + len(block)]] = NO_SCORE
            inside = (own >= first) & (own < first + len(block))
            scores[np.flatnonzero(inside), own[inside] - first] = NO_SCORE
            take = min(k, len(block))
            best = np.concatenate([best, np.partition(scores, len(block) - take, axis=1)[:, len(block) - take:]], axis=1)
            if best.shape[1] > k:
                best = np.partition(best, best.shape[1] - k, axis=1)[:, best.shape[1] - k:]
        return best.min(axis=1)
