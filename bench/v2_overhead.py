"""`/v2` inference against in-process embedding, both model families, in one run.

    python bench/v2_overhead.py [--reps 200] [--port 8767]

Starts `reinfer-clone serve` (one worker, SQLite scratch database), makes two
datasets from xSID's 300 English sentences (15 intents): `english` and
`multilingual` family, trains both. Then for each family, alternately: one
`POST /v2/models/<id>/inference` with 8 short texts over HTTP, and one
in-process embedding of the same 8 texts by the same encoder (this process,
one thread, like the server); the alternation exposes both to the same load.
Prints p50/p99 of both and their ratios, the multi-model route's timings
(both models, same texts), and the server's RSS with both models loaded and
serving.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import rss_mb, server, session_for  # noqa: E402
from crosslingual import read  # noqa: E402

from reinfer_clone.classifier.embedding import get_e5_embedder, get_embedder  # noqa: E402


def percentiles(values):
    values = sorted(values)
    return statistics.median(values), values[max(0, int(len(values) * 0.99) - 1)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--port", type=int, default=None, help="default: a free one")
    args = parser.parse_args()
    if args.port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    english = read("en")
    items = sorted(english.items())
    texts = [t for _, (t, _) in items]
    short = [t for t in texts if len(t) < 40]
    batches = [[short[(k * 8 + j) % len(short)] for j in range(8)] for k in range(args.reps)]
    encoders = {"english": get_embedder(), "multilingual": get_e5_embedder()}

    with server(workers=1, port=args.port, extra_env={"REINFER_CLONE_RETRAIN_DELAY": "-1",
                                                                # 600 labellings in a minute would be 429s
                                                                "REINFER_CLONE_RATE_LIMIT": "0"}) as (base, token, proc):
        http = session_for(token)

        def call(method, path, body=None):
            r = http.request(method, base + path, json=body, timeout=900)
            if r.status_code >= 300:
                raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
            return r.json()

        me = call("GET", "/auth/user")["user"]["id"]
        call("PUT", "/api/_private/projects/bench", {"project": {}, "user_ids": [me]})
        source = call("PUT", "/api/v1/sources/bench/xsid", {"source": {}})["source"]["id"]
        call("POST", "/api/v1/sources/bench/xsid/sync", {"comments": [
            {"id": f"s{i}", "timestamp": "2024-01-01T00:00:00Z", "messages": [{"body": {"text": t}}]}
            for i, (t, _) in items]})
        model_ids = {}
        for family in encoders:
            dataset = call("PUT", f"/api/v1/datasets/bench/{family}",
                           {"dataset": {"source_ids": [source], "model_family": family}})["dataset"]
            model_ids[family] = dataset["_labelf_model_id"]
            for i, (_, label) in items:
                call("POST", f"/api/_private/datasets/bench/{family}/labellings/{source}.s{i}",
                     {"labelling": [{"group": "default", "assigned": [{"name": label, "sentiment": "positive"}]}]})
            started = time.perf_counter()
            call("POST", f"/api/v1/datasets/bench/{family}/train", {"wait": True})
            print(f"{family}: trained on {len(items)} sentences in {time.perf_counter() - started:.1f} s")

        for family, embedder in encoders.items():
            path = f"/v2/models/{model_ids[family]}/inference"
            for k in range(10):  # warm up both sides
                call("POST", path, {"texts": batches[k]})
                embedder.embed(batches[k])
            over_http, in_process = [], []
            for batch in batches:
                t = time.perf_counter()
                call("POST", path, {"texts": batch})
                over_http.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                embedder.embed(batch)
                in_process.append((time.perf_counter() - t) * 1000)
            (h50, h99), (e50, e99) = percentiles(over_http), percentiles(in_process)
            print(f"{family}: /v2 8 texts p50 {h50:.1f} ms, p99 {h99:.1f} ms; in-process embedding "
                  f"p50 {e50:.1f} ms, p99 {e99:.1f} ms; ratio p50 {h50 / e50:.2f} (target <= 1.25), "
                  f"p99 {h99 / e99:.2f} (target <= 2)  [{args.reps} requests]")

        both = list(model_ids.values())
        timings = []
        for batch in batches[: max(20, args.reps // 4)]:
            t = time.perf_counter()
            call("POST", "/v2/models/inference", {"texts": batch, "model_ids": both})
            timings.append((time.perf_counter() - t) * 1000)
        m50, m99 = percentiles(timings)
        print(f"multi-model /v2/models/inference (2 models, 8 texts): p50 {m50:.1f} ms, p99 {m99:.1f} ms")
        print(f"server RSS with both models loaded and serving: {rss_mb(proc.pid):.0f} MB (target <= 1024)")


if __name__ == "__main__":
    main()
