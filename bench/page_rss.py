"""Peak RSS of a server worker serving comment pages of a many-label model:
query, export and the reviewed-labellings read, each carrying every predicted
label of every comment on the page.

One gunicorn worker on a scratch SQLite database: `--comments` banking77
comments, all reviewed, and the synthetic 10,000-label model of
bench/request_rss.py with a stored prediction (every label, random
probabilities and sentiments) for each comment, written straight into the
database so that the requests measure reading, building and encoding pages,
not scoring. Before each request the worker's high-water mark is reset; after
it VmHWM is read (see request_rss.py).

To compare with an older commit, run it with that commit's package first on
the path (`git archive <commit> reinfer_clone | tar -x -C DIR`, then
`PYTHONPATH=DIR`): the server inherits the environment.

    .venv/bin/python bench/page_rss.py
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from common import (  # noqa: E402
    QUIET_SERVER_ENV, banking77_rows, project_with_dataset, scratch_sqlite_url, server, session_for, worker_pids,
)
from request_rss import hwm_mb, measure, synthetic_model  # noqa: E402


def store_predictions(database_url: str, dataset_name: str, batch: int = 16) -> int:
    """A stored prediction of the dataset's latest model for each of its comments."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from reinfer_clone.models import Comment, Dataset, ModelVersion, StoredPrediction

    engine = create_engine(database_url)
    rng = np.random.default_rng(1)
    with Session(engine) as session:
        dataset = session.scalar(select(Dataset).where(Dataset.name == dataset_name))
        model = session.scalar(select(ModelVersion).where(ModelVersion.dataset_id == dataset.id))
        labels = list(model.label_names)
        pks = list(session.scalars(select(Comment.pk).where(Comment.source_id.in_(dataset.source_ids))))
        for start in range(0, len(pks), batch):
            rows = []
            for pk in pks[start:start + batch]:
                p, s = rng.random(len(labels)), rng.uniform(-1, 1, len(labels))
                order = np.argsort(-p)
                rows.append(StoredPrediction(model_pk=model.pk, comment_pk=pk, labels=[
                    {"name": labels[j], "probability": float(p[j]), "sentiment": float(s[j])} for j in order]))
            session.add_all(rows)
            session.commit()
    return len(pks)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=256)
    parser.add_argument("--port", type=int, default=8772)
    args = parser.parse_args()
    every = banking77_rows("train")
    rows = every[::max(1, len(every) // args.comments)][:args.comments]
    texts = [r["text"] for r in rows]
    from reinfer_clone.services import ml

    url = scratch_sqlite_url("reinfer-pages-")
    with server(url, workers=1, port=args.port, extra_env=QUIET_SERVER_ENV) as (base, token, proc):
        s = session_for(token)
        (worker,) = worker_pids(proc.pid)
        project, source = project_with_dataset(s, base, "pages")
        sid = source["id"]
        comments = [{"id": f"b{i}", "timestamp": f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                     "messages": [{"body": {"text": t}}]} for i, t in enumerate(texts)]
        s.put(f"{base}/api/_private/sources/{project}/inbox/comments", json={"comments": comments}
              ).raise_for_status()
        s.put(f"{base}/api/v1/datasets/{project}/many", json={"dataset": {"source_ids": [sid]}}
              ).raise_for_status()
        for i, r in enumerate(rows):
            s.post(f"{base}/api/_private/datasets/{project}/many/labellings/{sid}.b{i}",
                   json={"labelling": [{"group": "default", "assigned": [
                       {"name": "Topic 000", "sentiment": "positive"}]}]}).raise_for_status()
        synthetic_model(url, project, args.labels, texts, ml.embedder().model_id)
        started = time.perf_counter()
        stored = store_predictions(url, "many")
        print(f"{stored} comments, all reviewed, each with a stored prediction of {args.labels} labels "
              f"({time.perf_counter() - started:.0f} s); worker RSS at rest {hwm_mb(worker):.0f} MB", flush=True)
        many = f"{base}/api/_private/datasets/{project}/many"

        def count(response, key):
            body = response.json()
            return len(body.get(key) or []), bool(body.get("continuation") or body.get("after"))

        r = measure(worker, "query, limit 512, recent",
                    lambda: s.post(f"{many}/query", json={"limit": 512, "order": {"kind": "recent"}}))
        print(f"    {count(r, 'results')[0]} comments on the page", flush=True)
        r = measure(worker, "export, limit 256",
                    lambda: s.post(f"{base}/api/v1/datasets/{project}/many/export", json={"limit": 256}))
        print(f"    {count(r, 'comments')[0]} comments on the page", flush=True)
        r = measure(worker, "reviewed labellings, return_predictions, limit 1024",
                    lambda: s.get(f"{many}/labellings", params={"source_id": sid, "return_predictions": "true",
                                                                 "limit": 1024}))
        print(f"    {count(r, 'results')[0]} comments on the page", flush=True)


if __name__ == "__main__":
    main()
