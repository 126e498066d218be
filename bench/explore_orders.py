"""Explore's orders on a large dataset with a trained model, through HTTP.

    python bench/explore_orders.py [--n 100000] [--database-url postgresql://...]

Syncs N comments into one dataset, whose texts cycle through a pool of `--distinct`
banking77 questions (60 of each of five intents, the rest from other intents): the orders
read one stored prediction per comment whatever the texts, and a pool keeps the embedding
work (cached by text) within reach of this machine, where embedding the 10,003 distinct
questions bench/ui.py cycles through takes longer than an hour under load. Labels 40
comments of each intent with the intent's label, trains a model with `POST .../train` (a
real training on those 200 comments; the worker then scores every comment of the dataset,
and the script waits for it), then times the first page of each
Explore order (the body the page sends: 50 comments, no filter) and of the shuffle with a
filter, median of 5 after one warm-up, from a client on the same machine. Recent order is
the reference for the ratios (same run, same server).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import banking77_rows, project_with_dataset, server, session_for, sync_in_parallel  # noqa: E402

INTENTS = {"card_arrival": "Card > Arrival", "exchange_rate": "Exchange > Rate",
           "request_refund": "Refund > Request", "top_up_failed": "Top Up > Failed",
           "lost_or_stolen_card": "Card > Lost"}
PER_INTENT = 40
POOL_PER_INTENT = 60
PAGE = 50  # Explore's page size


def text_pool(distinct: int) -> list[dict]:
    """`distinct` banking77 rows: POOL_PER_INTENT of each intent of INTENTS, then others."""
    rows = banking77_rows("train")
    chosen = [r for c in INTENTS for r in [r for r in rows if r["category"] == c][:POOL_PER_INTENT]]
    chosen += [r for r in rows if r["category"] not in INTENTS][:max(0, distinct - len(chosen))]
    return chosen[:distinct]


def comments(n: int, texts: list[dict]) -> list[dict]:
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    return [{
        "id": f"ui-{i:07d}",
        "timestamp": (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "messages": [{"body": {"text": texts[i % len(texts)]["text"]}, "from": f"c{i % 997}@example.org"}],
        "user_properties": {"string:Channel": ("chat", "email", "phone")[i % 3], "number:Index": i},
    } for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8792)
    parser.add_argument("--database-url", default=None, help="default: a scratch SQLite file")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--distinct", type=int, default=500, help="distinct texts the comments cycle through")
    args = parser.parse_args()

    texts = text_pool(args.distinct)
    env = {"REINFER_CLONE_RETRAIN_DELAY": "-1", "REINFER_CLONE_LOG_LEVEL": "info"}
    with server(database_url=args.database_url, port=args.port, extra_env=env) as (base, token, _proc):
        s = session_for(token)
        project, source = project_with_dataset(s, base, "orders")
        rows = comments(args.n, texts)
        t0 = time.perf_counter()
        sync_in_parallel(token, base, project, rows)
        print(f"synced {args.n:,} comments ({len(texts)} distinct texts) in {time.perf_counter() - t0:.1f} s")
        dataset = f"{base}/api/_private/datasets/{project}/triage"
        v1 = f"{base}/api/v1/datasets/{project}/triage"

        # Comment i carries pool row i % len(texts): label the first PER_INTENT of each intent.
        picked: dict[str, list[int]] = {c: [] for c in INTENTS}
        for i in range(min(args.n, len(texts))):
            category = texts[i]["category"]
            if category in picked and len(picked[category]) < PER_INTENT:
                picked[category].append(i)
        for category, indexes in picked.items():
            for i in indexes:
                body = {"labelling": [{"group": "default", "assigned": [
                    {"name": INTENTS[category], "sentiment": "positive"}], "dismissed": []}]}
                s.post(f"{dataset}/labellings/{source['id']}.ui-{i:07d}", json=body).raise_for_status()
        labelled = sum(len(x) for x in picked.values())
        t0 = time.perf_counter()
        job = s.post(f"{v1}/train", json={}).json()["job"]
        while job["status"] in ("queued", "running") or (job["status"] == "succeeded" and "scored" not in (job.get("stats") or {})):
            time.sleep(1)  # below gunicorn's 2 s keep-alive: a longer pause meets a closed connection
            job = s.get(f"{v1}/train/{job['id']}").json()["job"]
        if job["status"] != "succeeded":
            sys.exit(f"training failed: {job}")
        stats = job.get("stats") or {}
        print(f"trained model version {job['model_version']} on {labelled} labelled comments, then scored "
              f"{stats.get('scored', 0):,} comments ({stats.get('score_seconds', '?')} s); "
              f"{time.perf_counter() - t0:.0f} s in all")

        def timed(order, filter_=None):
            body = {"filter": filter_ or {}, "attribute_filters": [], "order": order, "limit": PAGE}
            times = []
            for i in range(args.repeat + 1):
                t = time.perf_counter()
                r = s.post(f"{dataset}/query", json=body)
                elapsed = time.perf_counter() - t
                r.raise_for_status()
                if i:  # the first is a warm-up
                    times.append(elapsed)
            return statistics.median(times), min(times), max(times), len(r.json()["results"])

        label = "Card > Arrival"
        cases = [
            ("recent", {"kind": "recent"}, None),
            ("shuffle (sample)", {"kind": "sample", "seed": 1}, None),
            ("shuffle, unreviewed only", {"kind": "sample", "seed": 1}, {"reviewed": "only_unreviewed"}),
            ("shuffle, string:Channel = phone", {"kind": "sample", "seed": 1},
             {"user_properties": {"string:Channel": {"one_of": ["phone"]}}}),
            ("low confidence", {"kind": "low_confidence"}, None),
            (f"by_label ({label})", {"kind": "by_label", "label": label}, None),
            (f"teach ({label})", {"kind": "teach", "label": label}, None),
            (f"check ({label})", {"kind": "check", "label": label}, None),
            (f"missed ({label})", {"kind": "missed", "label": label}, None),
            ("rebalance", {"kind": "rebalance"}, None),
        ]
        results = [(name, *timed(order, filter_)) for name, order, filter_ in cases]
        reference = results[0][1]
        print(f"\nfirst page of {PAGE} through HTTP, median of {args.repeat} (min-max), {args.n:,} comments:")
        print("| order | median ms | min-max ms | × recent | results |")
        print("|---|---|---|---|---|")
        for name, median, low, high, count in results:
            print(f"| {name} | {1000 * median:.0f} | {1000 * low:.0f}-{1000 * high:.0f} | "
                  f"{median / reference:.1f} | {count} |")


if __name__ == "__main__":
    main()
