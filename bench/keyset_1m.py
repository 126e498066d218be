"""First page against last page of a 1,000,000-comment source, through HTTP.

    python bench/keyset_1m.py [--n 1000000] [--database-url URL]

Creates a source and a dataset through the API, loads N comments straight into
the comments table (SQLAlchemy Core, batches of 10,000: the HTTP ingest rate is
measured by ingest_export.py), then pages through the whole dataset export and
the whole source iteration, 256 per page, and compares the first pages with the
last. Keyset pagination makes them cost the same; an OFFSET would make the last
page scan a million rows.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import banking77_rows, PeakRss, project_with_dataset, server, session_for  # noqa: E402


def load(database_url: str, source_id: str, n: int) -> float:
    from sqlalchemy import insert

    from reinfer_clone.db import Database, utcnow
    from reinfer_clone.models import Comment

    texts = [r["text"] for r in banking77_rows("train")]
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    db = Database(database_url)
    t0 = time.perf_counter()
    with db.session() as s:
        now = utcnow()
        for lo in range(0, n, 10_000):
            s.execute(insert(Comment), [
                {"source_id": source_id, "external_id": f"m-{i:07d}",
                 # Every tenth timestamp repeats, so ties are paged through too.
                 "timestamp": start + timedelta(seconds=i - i % 10 // 9), "thread_id": None,
                 "messages": [{"body": {"text": texts[i % len(texts)]}}],
                 "user_properties": {"number:Index": i}, "attachments": [],
                 "content_hash": f"{i:064d}", "created_at": now, "last_modified": now}
                for i in range(lo, min(n, lo + 10_000))
            ])
            s.commit()
    db.dispose()
    return time.perf_counter() - t0


def page_through(fetch) -> list[float]:
    times, cursor, seen = [], None, 0
    while True:
        t0 = time.perf_counter()
        body = fetch(cursor)
        times.append(time.perf_counter() - t0)
        seen += len(body["comments"])
        cursor = body.get("continuation")
        if not cursor:
            return times, seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import tempfile
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='reinfer-1m-')}/bench.sqlite3"
    with server(url, workers=args.workers) as (base, token, proc):
        s = session_for(token)
        project, source = project_with_dataset(s, base, "big")
        load_s = load(url, source["id"], args.n)
        print(f"loaded {args.n:,} comments in {load_s:.0f} s", flush=True)
        rss = PeakRss(proc.pid, every=0.2).start()
        results = {}
        results["export"] = page_through(lambda c: orjson.loads(s.post(
            f"{base}/api/v1/datasets/{project}/triage/export",
            json={"limit": 256, **({"continuation": c} if c else {})}).content))
        results["iterate"] = page_through(lambda c: orjson.loads(s.get(
            f"{base}/api/_private/sources/{project}/inbox/comments",
            params={"limit": 256, **({"after": c} if c else {})}).content))
        peak = rss.stop()
    backend = url.split(":")[0]
    print(f"backend: {backend}, comments: {args.n:,}, workers: {args.workers}")
    for name, (times, seen) in results.items():
        assert seen == args.n, (name, seen)
        # Medians of ten pages: one page alone is at the mercy of a scheduler tick.
        first, last = statistics.median(times[1:11]), statistics.median(times[-11:-1])
        print(f"{name}: {len(times)} pages, {args.n / sum(times):,.0f} comments/s; very first page "
              f"{times[0] * 1000:.1f} ms; median of pages 2-11 {first * 1000:.1f} ms, of the 10 before "
              f"the last {last * 1000:.1f} ms: last/first = {last / first:.2f}")
    print(f"server peak RSS while paging (all processes): {peak:.0f} MB")


if __name__ == "__main__":
    main()
