"""Classifier quality and speed on banking77, end to end through the HTTP API.

    python bench/classifier_http.py [--database-url URL] [--skip-few-shot]

Against `reinfer-clone serve` with one worker: uploads train and test rows as
comments of one source, labels the training rows `"<Parent> > <intent>"` in a
dataset, trains (`{"wait": true}`), predicts the test rows with
predict-comments, and reports top-1 child and parent accuracy; then labels 100
more rows and times the retrain; then times `predict` and `/v2/models/<id>/inference` with 8 short texts;
then repeats training with 10 labelled examples per intent in a second dataset.
Prints the server's peak RSS.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BANKING77, banking77_rows, PeakRss, server, session_for  # noqa: E402

HELD_BACK = 100  # training rows labelled only for the retrain measurement


def hierarchy() -> dict[str, str]:
    groups = json.loads((BANKING77 / "hierarchy.json").read_text())
    return {intent: parent for parent, intents in groups.items() for intent in intents}


def comments(rows, prefix):
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    return [{"id": f"{prefix}-{i:05d}",
             "timestamp": (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "messages": [{"body": {"text": r["text"]}}]} for i, r in enumerate(rows)]


class Api:
    def __init__(self, base, token):
        self.base, self.local = base, threading.local()
        self.token = token

    @property
    def http(self):
        if not hasattr(self.local, "s"):
            self.local.s = session_for(self.token)
        return self.local.s

    def call(self, method, path, body=None):
        r = self.http.request(method, self.base + path, json=body, timeout=900)
        if r.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json()


def label_rows(api, dataset, source_id, items, clients=4):
    def one(item):
        cid, name = item
        api.call("POST", f"/api/_private/datasets/bench/{dataset}/labellings/{source_id}.{cid}",
                 {"labelling": [{"group": "default", "assigned": [{"name": name, "sentiment": "positive"}]}]})

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, items))


def evaluate(api, dataset, version, source_id, test_ids, test_rows, parent_of):
    child_hits = parent_hits = 0
    for start in range(0, len(test_ids), 512):
        ids = test_ids[start:start + 512]
        body = api.call("POST", f"/api/v1/datasets/bench/{dataset}/labellers/{version}/predict-comments",
                        {"uids": [f"{source_id}.{i}" for i in ids]})
        for p, row in zip(body["predictions"], test_rows[start:start + 512]):
            children = [x for x in p["labels"] if len(x["name"]) == 2]
            parents = [x for x in p["labels"] if len(x["name"]) == 1]
            child_hits += children[0]["name"][1] == row["category"]
            parent_hits += parents[0]["name"][0] == parent_of[row["category"]]
    return child_hits / len(test_ids), parent_hits / len(test_ids)


def train(api, dataset):
    started = time.perf_counter()
    body = api.call("POST", f"/api/v1/datasets/bench/{dataset}/train", {"wait": True})
    return body["model"]["version"], time.perf_counter() - started, body["job"].get("stats", {})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--skip-few-shot", action="store_true")
    parser.add_argument("--reps", type=int, default=300)
    args = parser.parse_args()
    parent_of = hierarchy()
    train_rows, test_rows = banking77_rows("train"), banking77_rows("test")
    # Labellings would schedule background retrains; the bench trains explicitly.
    with server(args.database_url, workers=1, extra_env={"REINFER_CLONE_RETRAIN_DELAY": "-1"}) as (base, token, proc):
        api = Api(base, token)
        rss = PeakRss(proc.pid).start()
        api.call("PUT", "/api/_private/projects/bench", {"project": {}})
        source_id = api.call("PUT", "/api/v1/sources/bench/banking77", {"source": {}})["source"]["id"]
        for name in ("full", "few"):
            api.call("PUT", f"/api/v1/datasets/bench/{name}", {"dataset": {"source_ids": [source_id]}})
        uploads = comments(train_rows, "train") + comments(test_rows, "test")
        t = time.perf_counter()
        for start in range(0, len(uploads), 1024):
            api.call("POST", "/api/v1/sources/bench/banking77/sync", {"comments": uploads[start:start + 1024]})
        print(f"uploaded {len(uploads)} comments in {time.perf_counter() - t:.1f} s")

        labelled = [(f"train-{i:05d}", f"{parent_of[r['category']]} > {r['category']}")
                    for i, r in enumerate(train_rows)]
        random.Random(0).shuffle(labelled)
        first, later = labelled[:-HELD_BACK], labelled[-HELD_BACK:]
        t = time.perf_counter()
        label_rows(api, "full", source_id, first)
        print(f"labelled {len(first)} comments in {time.perf_counter() - t:.1f} s")

        version, seconds, stats = train(api, "full")
        print(f"train (cold embedding cache, {len(first)} rows): {seconds:.1f} s wall; job stats {stats}")
        test_ids = [f"test-{i:05d}" for i in range(len(test_rows))]
        t = time.perf_counter()
        child, parent = evaluate(api, "full", version, source_id, test_ids, test_rows, parent_of)
        print(f"predict-comments over {len(test_ids)} test rows: {time.perf_counter() - t:.1f} s")
        print(f"full data (v{version}): child top-1 accuracy {child:.2%}, parent top-1 accuracy {parent:.2%}")

        label_rows(api, "full", source_id, later)
        version, seconds, stats = train(api, "full")
        print(f"retrain after {len(later)} new labellings: {seconds:.1f} s wall; job stats {stats}")
        child, parent = evaluate(api, "full", version, source_id, test_ids, test_rows, parent_of)
        print(f"all {len(labelled)} rows (v{version}): child {child:.2%}, parent {parent:.2%}")

        validation = api.call("GET", "/api/_private/datasets/bench/full/labellers/latest/validation")
        print(f"validation: {validation['validation']['model_rating']}, "
              f"mean AP {validation['validation']['mean_average_precision']:.3f}")

        texts = [r["text"] for r in test_rows if len(r["text"]) < 60][:400]
        docs = lambda k: [{"messages": [{"body": {"text": texts[(k * 8 + j) % len(texts)]}}]} for j in range(8)]  # noqa: E731
        for k in range(20):  # warm up
            api.call("POST", "/api/v1/datasets/bench/full/labellers/latest/predict", {"documents": docs(k)})
        timings = []
        for k in range(args.reps):
            t = time.perf_counter()
            api.call("POST", "/api/v1/datasets/bench/full/labellers/latest/predict", {"documents": docs(k)})
            timings.append((time.perf_counter() - t) * 1000)
        timings.sort()
        print(f"predict 8 short documents over HTTP, {args.reps} requests: "
              f"p50 {statistics.median(timings):.1f} ms, p99 {timings[int(len(timings) * 0.99) - 1]:.1f} ms")

        model_id = api.call("GET", "/api/v1/datasets/bench/full")["dataset"]["_labelf_model_id"]
        for k in range(20):
            api.call("POST", f"/v2/models/{model_id}/inference", {"texts": [t["messages"][0]["body"]["text"] for t in docs(k)]})
        timings = []
        for k in range(args.reps):
            t = time.perf_counter()
            api.call("POST", f"/v2/models/{model_id}/inference",
                     {"texts": [d["messages"][0]["body"]["text"] for d in docs(k)]})
            timings.append((time.perf_counter() - t) * 1000)
        timings.sort()
        print(f"/v2 inference with 8 short texts over HTTP, {args.reps} requests: "
              f"p50 {statistics.median(timings):.1f} ms, p99 {timings[int(len(timings) * 0.99) - 1]:.1f} ms")

        if not args.skip_few_shot:
            rng = random.Random(0)
            by_intent: dict[str, list] = {}
            for i, r in enumerate(train_rows):
                by_intent.setdefault(r["category"], []).append(i)
            few = [(f"train-{i:05d}", f"{parent_of[c]} > {c}")
                   for c, ids in sorted(by_intent.items()) for i in rng.sample(ids, 10)]
            label_rows(api, "few", source_id, few)
            version, seconds, _ = train(api, "few")
            child, parent = evaluate(api, "few", version, source_id, test_ids, test_rows, parent_of)
            print(f"10 per intent ({len(few)} rows): child {child:.2%}, parent {parent:.2%}, train {seconds:.1f} s")
        print(f"server peak RSS: {rss.stop():.0f} MB")


if __name__ == "__main__":
    main()
