"""What the audit log and quota checks cost a comment upload, in process.

    python bench/audit_quota_overhead.py [--database-url URL] [--batches 40] [--batch 512]

Uploads the same number of new comments (batches of --batch) four ways into a
fresh database and prints comments/s for each, with ratios from the same run:
hooks off (the session listeners of services/audit.py removed), hooks on with
every kind unlimited (the default: events only), hooks on with finite
`comments` and `comments_per_source` limits (a lock and two COUNTs per batch),
and hooks off again. The existing rows grow as the run goes, so the counts are
of a growing table; ratios are to the mean of the two hooks-off runs.
"""
from __future__ import annotations

import argparse
import time

from sqlalchemy import event
from sqlalchemy.orm import Session


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()

    import os
    import tempfile

    from reinfer_clone import migrate
    from reinfer_clone.app import create_app
    from reinfer_clone.config import Config
    from reinfer_clone.db import Database
    from reinfer_clone.services import audit, auth, users

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    migrate.upgrade(url)
    database = Database(url)
    app = create_app(Config(database_url=url, training_worker="none", rate_limit="0",
                            max_content_length=256 * 1024 * 1024), database=database)
    with database.session() as s:
        user = users.create(s, f"bench{os.getpid()}", f"bench{os.getpid()}@example.org", ["root"], {})
        token = auth.issue_token(s, user)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    project = f"audit{os.getpid()}"
    assert client.put(f"/api/_private/projects/{project}", json={"project": {}}, headers=headers).status_code == 200
    counter = iter(range(10**9))

    def run(label: str, source: str) -> float:
        assert client.put(f"/api/v1/sources/{project}/{source}", json={"source": {}},
                          headers=headers).status_code == 200
        started = time.perf_counter()
        for _ in range(args.batches):
            comments = [{"id": f"c{next(counter)}", "timestamp": "2024-01-01T00:00:00Z",
                         "messages": [{"body": {"text": "hello there, where is my refund"}}]}
                        for _ in range(args.batch)]
            response = client.put(f"/api/_private/sources/{project}/{source}/comments",
                                  json={"comments": comments}, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
        seconds = time.perf_counter() - started
        rate = args.batches * args.batch / seconds
        print(f"{label:<28} {rate:10.0f} comments/s  ({seconds:.2f} s)")
        return rate

    hooks = [("before_flush", audit._before_flush), ("do_orm_execute", audit._do_orm_execute),
             ("before_commit", audit._before_commit)]
    for name, fn in hooks:
        event.remove(Session, name, fn)
    off = run("hooks off", "off")
    for name, fn in hooks:
        event.listen(Session, name, fn)
    on = run("audit only (no limits)", "audit")
    limit = 2**31 - 2
    for kind in ("comments", "comments_per_source"):
        assert client.post(f"/api/_private/quotas/0000000000000000/{kind}", json={"hard_limit": limit},
                           headers=headers).status_code == 200
    limited = run("audit + 2 finite quotas", "limited")
    # Again at the end: later batches go into a larger table, so the first
    # figure alone would flatter "hooks off".
    for name, fn in hooks:
        event.remove(Session, name, fn)
    again = run("hooks off, again", "off2")
    base = (off + again) / 2
    print(f"backend {database.dialect}; batch {args.batch}; ratios to the mean of both hooks-off runs: "
          f"audit {on / base:.2f}, audit+quotas {limited / base:.2f}")


if __name__ == "__main__":
    main()
