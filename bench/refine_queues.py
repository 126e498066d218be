"""Refine queues against a `by_label` page, and the validation route, on a large dataset.

    python bench/refine_queues.py [--n 100000] [--database-url URL] [--reps 3]

Creates a project, source and dataset through the API, loads N comments
straight into the comments table (as keyset_1m.py does), labels 48 of them and
trains a model through HTTP (`wait: true`). Scoring N comments with the
embedding model would take far longer than the queues' own cost on this
machine, so the version's stored predictions for the other comments are then
inserted directly (random probabilities for its labels, random regions): the
queues read only stored predictions, so what is timed is what a scored
dataset costs. Then the first page (limit 64) of each order is fetched `reps`
times through HTTP; medians are printed with the ratio to `by_label`.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import project_with_dataset, server, session_for  # noqa: E402
from keyset_1m import load  # noqa: E402

from tests.helpers import TINY_TOPICS  # noqa: E402


def store_predictions(url: str, n_regions: int = 10) -> int:
    from sqlalchemy import insert, select

    from reinfer_clone.db import Database
    from reinfer_clone.models import Comment, ModelVersion, StoredPrediction

    db = Database(url)
    rng = random.Random(0)
    with db.session() as s:
        model = s.scalar(select(ModelVersion).order_by(ModelVersion.pk.desc()).limit(1))
        names = list(model.label_names)
        done = set(s.scalars(select(StoredPrediction.comment_pk).where(StoredPrediction.model_pk == model.pk)))
        pks = [pk for pk in s.scalars(select(Comment.pk)) if pk not in done]
        for lo in range(0, len(pks), 10_000):
            rows = []
            for pk in pks[lo:lo + 10_000]:
                labels = sorted(({"name": name, "probability": rng.random()} for name in names),
                                key=lambda x: -x["probability"])
                rows.append({"model_pk": model.pk, "comment_pk": pk, "labels": labels,
                             "region": rng.randrange(n_regions)})
            s.execute(insert(StoredPrediction), rows)
            s.commit()
    db.dispose()
    return len(pks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='reinfer-refine-')}/bench.sqlite3"
    with server(url, workers=1, port=8779, extra_env={"REINFER_CLONE_TRAINING_WORKER": "none"}) as (base, token, _):
        s = session_for(token)
        project, source = project_with_dataset(s, base, "refine")
        print(f"loaded {args.n:,} comments in {load(url, source['id'], args.n):.0f} s", flush=True)
        ds = f"{base}/api/_private/datasets/{project}/triage"
        # 48 reviewed comments among the loaded ones, 12 a label.
        ids = [f"m-{i:07d}" for i in range(0, args.n, args.n // 48)][:48]
        labels = [name for name in TINY_TOPICS for _ in range(12)]
        for external_id, name in zip(ids, labels):
            s.post(f"{ds}/labellings/{source['id']}.{external_id}", json={"labelling": [
                {"group": "default", "assigned": [{"name": name, "sentiment": "positive"}]}]}).raise_for_status()
        t0 = time.perf_counter()
        s.post(f"{base}/api/v1/datasets/{project}/triage/train", json={"wait": True}).raise_for_status()
        print(f"trained in {time.perf_counter() - t0:.0f} s", flush=True)
        t0 = time.perf_counter()
        stored = store_predictions(url)
        print(f"stored predictions for {stored:,} comments in {time.perf_counter() - t0:.0f} s", flush=True)

        orders = {
            "by_label": {"kind": "by_label", "label": "Billing"},
            "teach": {"kind": "teach", "label": "Billing"},
            "check": {"kind": "check", "label": "Billing"},
            "missed": {"kind": "missed", "label": "Billing"},
            "rebalance": {"kind": "rebalance"},
            "low_confidence": {"kind": "low_confidence"},
        }
        medians = {}
        for name, order in orders.items():
            times = []
            for _ in range(args.reps):
                t0 = time.perf_counter()
                r = s.post(f"{ds}/query", json={"filter": {}, "order": order, "limit": 64})
                times.append(time.perf_counter() - t0)
                r.raise_for_status()
            medians[name] = statistics.median(times)
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            s.get(f"{ds}/labellers/latest/validation").raise_for_status()
            times.append(time.perf_counter() - t0)
        validation = statistics.median(times)
    print(f"backend: {url.split(':')[0]}, comments: {args.n:,}, first page of 64, median of {args.reps}")
    for name, t in medians.items():
        print(f"{name:15s} {t * 1000:8.0f} ms   {t / medians['by_label']:.2f} x by_label")
    print(f"validation route {validation * 1000:.1f} ms")


if __name__ == "__main__":
    main()
