"""Ingest and export throughput through HTTP against `reinfer-clone serve`.

    python bench/ingest_export.py [--n 100000] [--database-url URL] [--clients 2]

Syncs N comments (banking77 texts, cycled) in batches of 128, then pages
through them with the comment iteration route (256 per page), and reports
comments/s, the ratio to a raw executemany insert of the same rows, and the
server's peak RSS while paging.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import banking77_rows, PeakRss, project_with_dataset, server, session_for  # noqa: E402


def make_comments(n: int) -> list[dict]:
    texts = [r["text"] for r in banking77_rows("train")]
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    return [
        {
            "id": f"bench-{i:07d}",
            "timestamp": (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "messages": [{"body": {"text": texts[i % len(texts)]}}],
            "user_properties": {"string:Channel": "chat", "number:Index": i},
        }
        for i in range(n)
    ]


def raw_executemany(database_url: str, comments: list[dict]) -> float:
    """Seconds for a bare executemany of the same rows into a copy of our table."""
    from sqlalchemy import insert

    from reinfer_clone import migrate
    from reinfer_clone.db import Database, utcnow
    from reinfer_clone.models import Comment, Project, Source

    migrate.upgrade(database_url)
    db = Database(database_url)
    with db.session() as s:
        project = Project(name=f"raw{int(time.time())}")
        source = Source(project=project, name="raw")
        s.add_all([project, source])
        s.commit()
        now = utcnow()
        rows = [
            {"source_id": source.id, "external_id": c["id"],
             "timestamp": datetime.fromisoformat(c["timestamp"].replace("Z", "+00:00")),
             "thread_id": None, "messages": c["messages"], "user_properties": c["user_properties"],
             "attachments": [], "content_hash": "0" * 64, "created_at": now, "last_modified": now}
            for c in comments
        ]
        t0 = time.perf_counter()
        for i in range(0, len(rows), 128):
            s.execute(insert(Comment), rows[i:i + 128])
            s.commit()
        elapsed = time.perf_counter() - t0
    db.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--clients", type=int, default=2, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    comments = make_comments(args.n)
    batches = [comments[i:i + 128] for i in range(0, len(comments), 128)]

    with server(args.database_url, workers=args.workers) as (base, token, proc):
        s = session_for(token)
        project, source = project_with_dataset(s, base, "bench")

        local = threading.local()

        def send(batch):
            if not hasattr(local, "s"):
                local.s = session_for(token)
            r = local.s.post(f"{base}/api/v1/sources/{project}/inbox/sync",
                             data=json.dumps({"comments": batch}),
                             headers={"Content-Type": "application/json"})
            r.raise_for_status()
            return r.json()["new"]

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            created = sum(pool.map(send, batches))
        ingest_s = time.perf_counter() - t0
        assert created == args.n, created

        rss = PeakRss(proc.pid, every=0.05).start()

        def page_through(fetch):
            t0 = time.perf_counter()
            seen, cursor, pages, first, last, times = 0, None, 0, None, None, []
            while True:
                p0 = time.perf_counter()
                body = fetch(cursor)
                dt = time.perf_counter() - p0
                times.append(dt)
                first = first or dt
                last = dt
                seen += len(body["comments"])
                pages += 1
                cursor = body.get("continuation")
                if not cursor:
                    break
            assert seen == args.n, seen
            times.sort()
            return time.perf_counter() - t0, pages, first, last, times[len(times) // 2], times[-1]

        # Bodies are decoded with orjson: the figure is the server's, and the
        # standard library's decoder alone would cost the client ~1.5 ms a page.
        export = page_through(lambda c: orjson.loads(s.post(
            f"{base}/api/v1/datasets/{project}/triage/export",
            json={"limit": 256, **({"continuation": c} if c else {})}).content))
        iterate = page_through(lambda c: orjson.loads(s.get(
            f"{base}/api/_private/sources/{project}/inbox/comments",
            params={"limit": 256, **({"after": c} if c else {})}).content))
        peak = rss.stop()

    raw_url = args.database_url or f"sqlite:////tmp/reinfer-bench-raw-{int(time.time())}.sqlite3"
    raw_s = raw_executemany(raw_url, comments)
    backend = (args.database_url or "sqlite").split(":")[0]
    print(f"backend: {backend}, comments: {args.n}, HTTP clients: {args.clients}, workers: {args.workers}")
    print(f"ingest (sync, batches of 128): {ingest_s:.1f} s = {args.n / ingest_s:,.0f} comments/s")
    print(f"raw executemany of the same rows: {raw_s:.1f} s = {args.n / raw_s:,.0f} rows/s "
          f"(HTTP sync reaches {raw_s / ingest_s:.0%} of it)")
    for name, (secs, pages, first, last, median, slowest) in (
            ("export (v1, pages of 256)", export), ("iterate source comments (pages of 256)", iterate)):
        print(f"{name}: {secs:.1f} s = {args.n / secs:,.0f} comments/s, {pages} pages, "
              f"first page {first * 1000:.1f} ms, last page {last * 1000:.1f} ms, "
              f"median {median * 1000:.1f} ms, slowest {slowest * 1000:.1f} ms")
    print(f"server peak RSS while exporting and paging (all processes): {peak:.0f} MB")


if __name__ == "__main__":
    main()
