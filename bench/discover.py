"""Discover on banking77, end to end through the HTTP API.

    python bench/discover.py [--database-url URL] [--port 8771]

Against `reinfer-clone serve` with one worker: uploads the 10,003 training rows
as comments of one source in a dataset, then discovers topics with k = 77 (cold
embedding cache, then warm), with automatic k, and with k = 9. Reports wall
time, the adjusted Rand index of the clusters against the 77 intents (and, for
k = 9, against the 9 parents of hierarchy.json), and the server's peak RSS.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BANKING77, banking77_rows, PeakRss, server, session_for  # noqa: E402

URL = "/api/_private/datasets/bench/topics/discover"


def parents() -> dict[str, str]:
    groups = json.loads((BANKING77 / "hierarchy.json").read_text())
    return {intent: parent for parent, intents in groups.items() for intent in intents}


def call(http, base, method, path, body=None):
    r = http.request(method, base + path, json=body, timeout=1800)
    if r.status_code >= 300:
        raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
    return r.json()


def rand_index(clusters, truth: dict[str, str]) -> float:
    assigned = {uid: c["id"] for c in clusters for uid in c["uids"]}
    uids = sorted(truth)
    return adjusted_rand_score([truth[u] for u in uids], [assigned[u] for u in uids])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--port", type=int, default=8771)
    args = parser.parse_args()
    rows = banking77_rows("train")
    parent_of = parents()
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    comments = [{"id": f"b-{i:05d}", "timestamp": (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "messages": [{"body": {"text": r["text"]}}]} for i, r in enumerate(rows)]
    with server(args.database_url, workers=1, port=args.port,
                extra_env={"REINFER_CLONE_RETRAIN_DELAY": "-1"}) as (base, token, proc):
        http = session_for(token)
        rss = PeakRss(proc.pid).start()
        call(http, base, "PUT", "/api/_private/projects/bench", {"project": {}})
        source_id = call(http, base, "PUT", "/api/v1/sources/bench/banking77", {"source": {}})["source"]["id"]
        call(http, base, "PUT", "/api/v1/datasets/bench/topics", {"dataset": {"source_ids": [source_id]}})
        t = time.perf_counter()
        for i in range(0, len(comments), 1024):
            call(http, base, "POST", "/api/v1/sources/bench/banking77/sync", {"comments": comments[i:i + 1024]})
        print(f"uploaded {len(comments)} comments in {time.perf_counter() - t:.1f} s")
        intents = {f"{source_id}.{c['id']}": r["category"] for c, r in zip(comments, rows)}
        families = {uid: parent_of[intent] for uid, intent in intents.items()}

        def discover(label, **body):
            t = time.perf_counter()
            result = call(http, base, "POST", URL, {"include_uids": True, **body})
            seconds = time.perf_counter() - t
            clusters = result["clusters"]
            assert result["num_comments"] == len(rows) == sum(c["size"] for c in clusters)
            print(f"{label}: {len(clusters)} clusters in {seconds:.1f} s; ARI vs 77 intents "
                  f"{rand_index(clusters, intents):.3f}, vs 9 parents {rand_index(clusters, families):.3f}")
            return clusters

        discover("k=77, cold embedding cache", n_clusters=77)
        discover("k=77, warm cache", n_clusters=77)
        clusters = discover("automatic k, warm cache")
        discover("k=9, warm cache", n_clusters=9)
        print("largest automatic clusters:")
        for c in clusters[:5]:
            print(f"  {c['size']:4d}  {', '.join(c['terms'])}")
        print(f"server peak RSS: {rss.stop():.0f} MB")


if __name__ == "__main__":
    main()
