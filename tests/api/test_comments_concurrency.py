"""Several clients syncing overlapping ids at once: each id stored once, with one
of the contents sent last, and no error but a retryable 409."""
from concurrent.futures import ThreadPoolExecutor

from reinfer_clone.models import Comment

from ..helpers import comment, iterate_comments, make_project, make_source, ok, sync


def test_concurrent_overlapping_syncs(app, admin, session):
    make_project(admin, "acme")
    make_source(admin, "acme", "inbox")
    writers = 6

    def writer(n):
        client = app.test_client()
        statuses = []
        for round_ in range(5):
            # Every writer touches ids 0..39, in a different order, with its own content.
            ids = list(range(40))
            ids = ids[n * 7 % 40:] + ids[:n * 7 % 40]
            batch = [comment(i, thread_id=f"w{n}-r{round_}") for i in ids]
            while True:
                response = client.post("/api/v1/sources/acme/inbox/sync", json={"comments": batch},
                                       headers={"Authorization": f"Bearer {admin.token}"})
                statuses.append(response.status_code)
                if response.status_code != 409:
                    break
        return statuses

    with ThreadPoolExecutor(writers) as pool:
        statuses = [s for result in pool.map(writer, range(writers)) for s in result]
    assert set(statuses) <= {200, 409}, statuses
    assert statuses.count(200) == writers * 5
    stored = iterate_comments(admin)
    assert [c["id"] for c in stored] == [f"c-{i:05d}" for i in range(40)]
    assert session.query(Comment).count() == 40
    # Each comment holds a final-round content of some writer.
    assert all(c["thread_id"].endswith("-r4") for c in stored)
    # A last sync from one client is what remains.
    ok(sync(admin, [comment(i, thread_id="final") for i in range(40)]))
    assert {c["thread_id"] for c in iterate_comments(admin)} == {"final"}
