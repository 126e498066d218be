"""Search benchmarks: the vector index at scale, and keyword / semantic search
through the service on a database.

    python bench/search.py [--n 1000000] [--dim 384] [--data uniform,clustered]
                           [--real 10000] [--keyword 100000] [--database-url URL]

* vector index: N unit vectors (float32) of dimension DIM: `uniform` (random
  directions, the worst case for any approximate index: no neighbourhoods to
  find) and/or `clustered` (around N/1000 random centres, with noise as large as
  the centre, so members of a topic have cosine ~0.5, as sentence embeddings
  of one topic do). Reports build time, RSS growth, p50/p99 latency
  of 200 queries with k=10 (held-out vectors from the same distribution, no
  filter) and recall@10 against exact search on the same queries.
* `--real M`: the same on M banking77 texts embedded by the real model (the
  quantized index forced by a low exact limit, so the tuning meets real data).
* `--keyword C`: C comments (banking77 texts, cycled) synced into a scratch
  SQLite database (or `--database-url`), then p50/p99 of 200 keyword queries
  (limit 50) and of 200 semantic queries through the service, after a first
  semantic query that builds the index (its time is reported too).
Any part can be skipped with 0 / an empty list.
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import banking77_rows  # noqa: E402

QUERIES = 200
K = 10


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms"


def unit(rows: np.ndarray) -> np.ndarray:
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def make_vectors(kind: str, n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    centres = rng.standard_normal((max(1, n // 1000), dim), dtype=np.float32) if kind == "clustered" else None
    for start in range(0, n, 100_000):  # in chunks: no float64 copy of the whole set
        rows = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        if centres is not None:
            # Noise as large as the centre: members of a topic have cosine ~0.5.
            rows += centres[rng.integers(0, len(centres), len(rows))]
        out[start:start + len(rows)] = unit(rows)
    return out


def bench_index(label: str, vectors: np.ndarray, queries: np.ndarray, exact_limit: int | None = None) -> None:
    from reinfer_clone.classifier.vector_index import EXACT_LIMIT, VectorIndex

    n, dim = vectors.shape
    gc.collect()
    before = rss_mb()
    index = VectorIndex(dim, exact_limit=exact_limit or EXACT_LIMIT)
    started = time.perf_counter()
    index.add(np.arange(n), vectors)
    build = time.perf_counter() - started
    gc.collect()
    grown = rss_mb() - before
    print(f"[{label}] n={n:,} dim={dim}: {index.kind} index, re-rank depth {index.depth}")
    print(f"[{label}] build {build:.1f} s, RSS +{grown:,.0f} MB (vectors alone: {vectors.nbytes / 2**20:,.0f} MB), "
          f"peak RSS so far {peak_rss_mb():,.0f} MB")
    index.search(queries[0], K)  # warm-up
    times = []
    for query in queries[:QUERIES]:
        started = time.perf_counter()
        index.search(query, K)
        times.append(time.perf_counter() - started)
    print(f"[{label}] search k={K}, no filter, {len(times)} queries: {percentiles(times)}")
    hits = 0
    for query in queries[:QUERIES]:
        scores = vectors @ query
        truth = set(np.argpartition(-scores, K)[:K].tolist())
        hits += len(truth & {i for i, _ in index.search(query, K)})
    print(f"[{label}] recall@{K} vs exact on {QUERIES} queries: {hits / (K * QUERIES):.3f}")
    del index
    gc.collect()


def real_vectors(m: int) -> tuple[np.ndarray, float]:
    from reinfer_clone.services import ml

    texts = [r["text"] for r in banking77_rows("train") + banking77_rows("test")]
    texts = list(dict.fromkeys(texts))[:m + QUERIES]
    embedder = ml.embedder()
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    return vectors, time.perf_counter() - started


# --- through the service ---------------------------------------------------------------------

def bench_service(count: int, database_url: str | None) -> None:
    from sqlalchemy import create_engine, text

    from reinfer_clone import migrate
    from reinfer_clone.db import Database
    from reinfer_clone.models import Project, Source
    from reinfer_clone.services import comments, search

    if database_url is None:
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='reinfer-search-')}/bench.sqlite3"
    elif database_url.startswith("postgresql"):
        admin = create_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        name = database_url.rsplit("/", 1)[1]
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    migrate.upgrade(database_url)
    database = Database(database_url)
    texts = [r["text"] for r in banking77_rows("train")]
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with database.session() as session:
        project = Project(name=f"bench{time.time_ns()}")
        source = Source(project=project, name="inbox")
        session.add_all([project, source])
        session.commit()
        started = time.perf_counter()
        for first in range(0, count, 1000):
            batch = [
                {"external_id": f"bench-{i:07d}", "timestamp": start + timedelta(seconds=i), "thread_id": None,
                 "messages": [{"body": {"text": texts[i % len(texts)]}}], "user_properties": {},
                 "attachments": []}
                for i in range(first, min(count, first + 1000))
            ]
            comments.sync(session, source, batch)
            session.commit()
        ingest = time.perf_counter() - started
        print(f"[service {database.dialect}] synced {count:,} comments with the keyword index: "
              f"{count / ingest:,.0f} comments/s")
        rng = np.random.default_rng(0)
        vocabulary = sorted({w for t in texts[:2000] for w in search.words(t) if len(w) > 3})
        queries = [" ".join(rng.choice(vocabulary, rng.integers(1, 3))) for _ in range(QUERIES)]
        times, found = [], 0
        for query in queries:
            started = time.perf_counter()
            found += len(search.keyword_scored(session, [source.id], query, 50))
            times.append(time.perf_counter() - started)
        print(f"[service {database.dialect}] keyword search, limit 50, {QUERIES} queries of 1-2 words "
              f"({found / QUERIES:.1f} results on average): {percentiles(times)}")
        started = time.perf_counter()
        search.semantic_neighbours(session, [source.id], "I was charged twice", K)
        print(f"[service {database.dialect}] first semantic search (embeds {min(count, len(set(texts))):,} "
              f"distinct texts, builds the index): {time.perf_counter() - started:.1f} s")
        times = []
        for query in texts[-QUERIES:]:
            started = time.perf_counter()
            search.semantic_neighbours(session, [source.id], query + " please", K)
            times.append(time.perf_counter() - started)
        print(f"[service {database.dialect}] semantic search k={K}, {QUERIES} queries "
              f"(query embedding included): {percentiles(times)}")
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--data", default="uniform,clustered")
    parser.add_argument("--real", type=int, default=10_000)
    parser.add_argument("--keyword", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import faiss

    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, {os.cpu_count()} CPUs")
    for kind in [k for k in args.data.split(",") if k]:
        started = time.perf_counter()
        data = make_vectors(kind, args.n + QUERIES, args.dim)
        print(f"[{kind}] generated in {time.perf_counter() - started:.1f} s")
        bench_index(kind, data[:args.n], data[args.n:])
        del data
    if args.real:
        vectors, seconds = real_vectors(args.real)
        print(f"[real] embedded {len(vectors):,} banking77 texts in {seconds:.1f} s")
        m = len(vectors) - QUERIES
        bench_index("real", vectors[:m], vectors[m:], exact_limit=m // 4)
    if args.keyword:
        bench_service(args.keyword, args.database_url)


if __name__ == "__main__":
    main()
