"""Peak RSS of a server worker under the largest request each bounded route accepts.

One gunicorn worker (training in a separate `reinfer-clone worker --once`
process, so only requests grow the server), on a scratch SQLite database
holding all of banking77 (13,083 comments) plus one 10 MiB comment. Two models:

* `triage`: trained for real on the 77 banking77 intents (20 labelled
  comments each);
* `many`: 10,000 labels (100 parents x 99 children), a synthetic model built
  with the real classes and stored as a version: random coefficients over 4,000
  TF-IDF features fitted on banking77 (training 10,000 labels is out of reach
  on this shared 2-core machine). What it measures is the request path:
  scoring, sorting, thresholds, encoding.

Before each request the worker's high-water mark is reset (/proc/PID/clear_refs,
needs root or the same user); after it VmHWM is read: that request's peak.

    .venv/bin/python bench/request_rss.py
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

LIMIT_MB = 1536


def hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def reset_hwm(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def measure(pid, name, call):
    reset_hwm(pid)
    started = time.perf_counter()
    response = call()
    seconds = time.perf_counter() - started
    peak = hwm_mb(pid)
    size = len(response.content)
    print(f"{name:<62} {response.status_code}  {seconds:7.1f} s  answer {size / 1e6:8.1f} MB  "
          f"peak RSS {peak:7.0f} MB  {'ok' if peak <= LIMIT_MB else 'OVER 1.5 GB'}", flush=True)
    return response


def synthetic_model(database_url: str, project: str, label_count: int, texts: list[str],
                    embedding_model_id: str | None = None) -> None:
    """Version 1 of dataset `many`: a LabelModel of `label_count` labels with random weights."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from reinfer_clone.classifier.features import TextFeatures
    from reinfer_clone.classifier.model import LabelModel
    from reinfer_clone.models import Dataset, ModelVersion

    engine = create_engine(database_url)
    with Session(engine) as session:
        if embedding_model_id is None:
            triage = session.scalar(select(ModelVersion).join(Dataset, Dataset.id == ModelVersion.dataset_id)
                                    .where(Dataset.name == "triage"))
            embedding_model_id = LabelModel.from_bytes(triage.artifact).embedding_model_id
        many = session.scalar(select(Dataset).where(Dataset.name == "many"))
        fitted, _ = TextFeatures.fit(texts[:3000])
        vocabularies = {b: v[:2000] for b, v in fitted.vocabularies.items()}
        features = TextFeatures(vocabularies, {b: fitted.idfs[b][:2000] for b in vocabularies})
        parents = [f"Topic {i:03d}" for i in range(100)]
        labels = sorted(parents + [f"{p} > Sub {j:02d}" for p in parents for j in range(99)])[:label_count]
        rng = np.random.default_rng(0)
        F, L, D = features.size, len(labels), 384
        model = LabelModel(
            labels=labels, embedding_model_id=embedding_model_id, has_sentiment=True, thresholds={},
            features=features, sparse_coef=rng.normal(0, 0.5, (F, L)), sparse_intercept=np.zeros(L),
            dense_coef=rng.normal(0, 0.5, (D, L)), dense_intercept=np.zeros(L), dense_weight=1.0,
            platt=(1.0, -6.0), constant=np.full(L, np.nan), sentiment_kind=np.ones(L, np.int8),
            sentiment_coef=rng.normal(0, 0.5, (D, L)), sentiment_intercept=np.zeros(L),
            global_sentiment=None)
        session.add(ModelVersion(dataset_id=many.id, version=1, label_names=labels, artifact=model.to_bytes()))
        session.commit()
        print(f"synthetic model: {L} labels, {F} features", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--comments", type=int, default=13_083, help="banking77 rows uploaded (all by default)")
    parser.add_argument("--per-label", type=int, default=20, help="labelled comments per intent")
    parser.add_argument("--quick", action="store_true",
                        help="no trained model: only the synthetic one (for a loaded machine)")
    args = parser.parse_args()
    every = banking77_rows("train") + banking77_rows("test")
    rows = every[::max(1, len(every) // args.comments)][:args.comments]  # a spread over all intents
    texts = [r["text"] for r in rows]
    import subprocess

    url = scratch_sqlite_url("reinfer-rss-")
    with server(url, workers=1, port=args.port, extra_env=QUIET_SERVER_ENV) as (base, token, proc):
        s = session_for(token)
        (worker,) = worker_pids(proc.pid)
        project, source = project_with_dataset(s, base, "rss")
        sid = source["id"]
        comments = [{"id": f"b{i}", "timestamp": "2024-01-01T00:00:00Z",
                     "messages": [{"body": {"text": t}}]} for i, t in enumerate(texts)]
        for start in range(0, len(comments), 1024):
            s.put(f"{base}/api/_private/sources/{project}/inbox/comments",
                  json={"comments": comments[start:start + 1024]}).raise_for_status()
        huge = "The parcel never arrived and nobody answers. " + "lorem ipsum dolor sit amet " * 390_000
        s.put(f"{base}/api/_private/sources/{project}/inbox/comments",
              json={"comments": [{"id": "huge", "timestamp": "2024-01-01T00:00:00Z",
                                  "messages": [{"body": {"text": huge}}]}]}).raise_for_status()
        print(f"{len(comments)} comments and one of {len(huge) / 2**20:.1f} MiB uploaded; "
              f"worker RSS at rest {hwm_mb(worker):.0f} MB", flush=True)
        embedding_model_id = None
        if args.quick:
            from reinfer_clone.services import ml

            embedding_model_id = ml.embedder().model_id
        else:
            labelled = {}
            for i, r in enumerate(rows):
                if len(labelled.setdefault(r["category"], [])) < args.per_label:
                    labelled[r["category"]].append(i)
            for category, indices in labelled.items():
                for i in indices:
                    s.post(f"{base}/api/_private/datasets/{project}/triage/labellings/{sid}.b{i}",
                           json={"labelling": [{"group": "default", "assigned": [
                               {"name": category, "sentiment": "positive" if i % 2 else "negative"}]}]}
                           ).raise_for_status()
            s.post(f"{base}/api/v1/datasets/{project}/triage/train", json={"wait": False}).raise_for_status()
            started = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "reinfer-clone"), "--database-url", url,
                            "worker", "--once"], check=True)
            print(f"trained 77 labels on {sum(map(len, labelled.values()))} comments and scored the source "
                  f"in {time.perf_counter() - started:.0f} s (separate process)", flush=True)
        s.put(f"{base}/api/v1/datasets/{project}/many", json={"dataset": {"source_ids": [sid]}}
              ).raise_for_status()
        synthetic_model(url, project, args.labels, texts, embedding_model_id)
        many_id = s.get(f"{base}/api/v1/datasets/{project}/many").json()["dataset"]["_labelf_model_id"]

        def docs(n, offset=0):
            return [{"messages": [{"body": {"text": texts[(offset + i) % len(texts)]}}]} for i in range(n)]

        triage = f"{base}/api/v1/datasets/{project}/triage/labellers/1"
        many = f"{base}/api/v1/datasets/{project}/many/labellers/1"
        limit = 1_048_576
        most = limit // args.labels
        if not args.quick:
            measure(worker, "predict, 77 labels, 4,096 documents, every label",
                    lambda: s.post(f"{triage}/predict", json={"documents": docs(4096)}))
        measure(worker, f"predict, {args.labels} labels, {most} documents, every label",
                lambda: s.post(f"{many}/predict", json={"documents": docs(most)}))
        measure(worker, f"predict, {args.labels} labels, {most + 1} documents (over: 413)",
                lambda: s.post(f"{many}/predict", json={"documents": docs(most + 1)}))
        uids = [f"{sid}.b{i}" for i in range(min(512, len(rows)))]
        measure(worker, f"predict-comments, {args.labels} labels, {len(uids)} uids, threshold auto",
                lambda: s.post(f"{many}/predict-comments", json={"uids": uids, "threshold": "auto"}))
        long_texts = [huge[:7 * 2**20]] * 8
        measure(worker, f"/v2 inference, {args.labels} labels, 8 texts of 7 MiB",
                lambda: s.post(f"{base}/v2/models/{many_id}/inference", json={"texts": long_texts}))
        measure(worker, f"semantic search, first index build ({len(rows) + 1} comments, one 10 MiB)",
                lambda: s.post(f"{base}/api/_private/datasets/{project}/triage/search",
                               json={"query": "my card has not arrived", "kind": "semantic", "limit": 512}))
        measure(worker, f"discover, 200 clusters, max_comments 20,000 ({len(rows) + 1} match), include_uids",
                lambda: s.post(f"{base}/api/_private/datasets/{project}/triage/discover",
                               json={"n_clusters": 200, "max_comments": 20_000, "include_uids": True,
                                     "samples": 50}))
        if not args.quick:
            measure(worker, "query, 77 labels, limit 512 (every label of each comment)",
                    lambda: s.post(f"{base}/api/_private/datasets/{project}/triage/query",
                                   json={"limit": 512, "order": {"kind": "recent"}}))
        measure(worker, f"query, {args.labels} labels, limit 512 (page shrinks to {most})",
                lambda: s.post(f"{base}/api/_private/datasets/{project}/many/query",
                               json={"limit": 512, "order": {"kind": "recent"}}))

        # Last: 4,096 embeddings take the longest.
        measure(worker, f"predict, {args.labels} labels, 4,096 documents, threshold 0.5",
                lambda: s.post(f"{many}/predict", json={"documents": docs(4096), "threshold": 0.5}))


if __name__ == "__main__":
    main()
