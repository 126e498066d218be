"""Stream fetch latency with predictions, through HTTP against `reinfer-clone serve`.

    python bench/streams.py [--database-url URL] [--pages 10] [--repeats 5]

Uploads and labels banking77 training rows (`"<Parent> > <intent>"`), trains
(`{"wait": true}`), creates a stream pinned to that version with a threshold of
0.5 on every label, then uploads `pages` x 256 test rows, which the stream
delivers. For each page: one fetch of 256 while the page's predictions do not
exist yet (cold: the server embeds and scores the 256 comments), then
`repeats` fetches of the same page (warm: stored predictions), then advance.
Reports p50 / p90 of both over HTTP.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BANKING77, banking77_rows, server, session_for  # noqa: E402

PAGE = 256
STREAM = "/api/v1/datasets/bench/triage/streams/new"


def comments(rows, prefix):
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    return [{"id": f"{prefix}-{i:05d}",
             "timestamp": (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "messages": [{"body": {"text": r["text"]}}]} for i, r in enumerate(rows)]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--labelled", type=int, default=1000, help="training rows labelled")
    parser.add_argument("--pages", type=int, default=10, help="pages of 256 comments delivered")
    parser.add_argument("--repeats", type=int, default=5, help="warm fetches per page")
    args = parser.parse_args()
    groups = json.loads((BANKING77 / "hierarchy.json").read_text())
    parent_of = {intent: parent for parent, intents in groups.items() for intent in intents}
    train_rows = banking77_rows("train")
    random.Random(0).shuffle(train_rows)
    train_rows = train_rows[:args.labelled]
    test_rows = banking77_rows("test")[:args.pages * PAGE]

    with server(args.database_url, workers=args.workers,
                extra_env={"REINFER_CLONE_RETRAIN_DELAY": "-1"}) as (base, token, proc):
        http = session_for(token)

        def call(method, path, body=None):
            r = http.request(method, base + path, json=body, timeout=900)
            if r.status_code >= 300:
                raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
            return r.json()

        call("PUT", "/api/_private/projects/bench", {"project": {}})
        source_id = call("PUT", "/api/v1/sources/bench/inbox", {"source": {}})["source"]["id"]
        call("PUT", "/api/v1/datasets/bench/triage", {"dataset": {"source_ids": [source_id]}})
        call("POST", "/api/v1/sources/bench/inbox/sync", {"comments": comments(train_rows, "train")})
        for i, row in enumerate(train_rows):
            call("POST", f"/api/_private/datasets/bench/triage/labellings/{source_id}.train-{i:05d}",
                 {"labelling": [{"group": "default", "assigned": [
                     {"name": f"{parent_of[row['category']]} > {row['category']}", "sentiment": "positive"}]}]})
        t = time.perf_counter()
        version = call("POST", "/api/v1/datasets/bench/triage/train", {"wait": True})["model"]["version"]
        print(f"trained version {version} on {len(train_rows)} rows in {time.perf_counter() - t:.1f} s")

        labels = sorted({f"{parent_of[r['category']]} > {r['category']}" for r in train_rows})
        thresholds = [{"name": name.split(" > "), "threshold": 0.5} for name in labels]
        call("PUT", "/api/v1/datasets/bench/triage/streams",
             {"stream": {"name": "new", "model": {"version": version, "label_thresholds": thresholds}}})
        for start in range(0, len(test_rows), 1024):
            call("POST", "/api/v1/sources/bench/inbox/sync",
                 {"comments": comments(test_rows, "test")[start:start + 1024]})

        cold, warm, delivered, labelled = [], [], 0, 0
        while True:
            t = time.perf_counter()
            batch = call("POST", f"{STREAM}/fetch", {"size": PAGE})
            cold.append((time.perf_counter() - t) * 1000)
            if not batch["results"]:
                cold.pop()
                break
            for _ in range(args.repeats):
                t = time.perf_counter()
                again = call("POST", f"{STREAM}/fetch", {"size": PAGE})
                warm.append((time.perf_counter() - t) * 1000)
                assert again["sequence_id"] == batch["sequence_id"]
            delivered += len(batch["results"])
            labelled += sum(bool(r["labels"]) for r in batch["results"])
            call("POST", f"{STREAM}/advance", {"sequence_id": batch["sequence_id"]})
        assert delivered == len(test_rows), delivered

    backend = (args.database_url or "sqlite").split(":")[0]
    print(f"backend: {backend}, workers: {args.workers}, stream labels: {len(thresholds)}, "
          f"delivered {delivered} comments ({labelled} with a label over its threshold)")
    print(f"fetch 256 with predictions, warm (stored predictions), {len(warm)} requests: "
          f"p50 {statistics.median(warm):.1f} ms, p90 {percentile(warm, 0.9):.1f} ms")
    print(f"fetch 256 with predictions, cold (first read embeds and scores), {len(cold)} requests: "
          f"p50 {statistics.median(cold):.1f} ms, p90 {percentile(cold, 0.9):.1f} ms")


if __name__ == "__main__":
    main()
