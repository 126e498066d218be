import pytest

from ..helpers import comment, error, make_dataset, make_project, make_source, make_user, ok, sync

EXPORT = "/api/v1/datasets/acme/triage/export"


@pytest.fixture
def setup(admin):
    make_project(admin, "acme")
    a = make_source(admin, "acme", "a")
    b = make_source(admin, "acme", "b")
    make_dataset(admin, "acme", "triage", source_ids=[a["id"], b["id"]])
    return a, b


def export_all(client, **body):
    out, continuation = [], None
    for _ in range(1000):
        page = ok(client.post(EXPORT, json={**body, **({"continuation": continuation} if continuation else {})}))
        out.extend(page["comments"])
        continuation = page.get("continuation")
        if not continuation:
            return out
    raise AssertionError("export never ended")


def test_export_items_carry_comment_labels_and_predictions(admin, setup):
    a, _ = setup
    ok(sync(admin, [comment(1)], source="a"))
    ok(admin.post(f"/api/_private/datasets/acme/triage/labellings/{a['id']}.c-00001", json={
        "labelling": [{"group": "default", "assigned": [{"name": "Billing > Refund", "sentiment": "negative"}]}]}))
    page = ok(admin.post(EXPORT, json={}))
    assert "continuation" not in page
    (item,) = page["comments"]
    assert item["comment"]["uid"] == f"{a['id']}.c-00001" and item["comment"]["has_annotations"] is True
    assert item["annotations"] == {"labels": {"assigned": [
        {"name": "Billing", "sentiment": "negative"}, {"name": "Billing > Refund", "sentiment": "negative"}]}}
    assert item["predictions"] == {"labels": []}


def test_paging_returns_every_comment_exactly_once_across_sources(admin, setup):
    ok(sync(admin, [comment(i) for i in range(0, 30, 2)], source="a"))
    ok(sync(admin, [comment(i) for i in range(1, 30, 2)], source="b"))
    items = export_all(admin, limit=4)
    assert [i["comment"]["id"] for i in items] == [f"c-{i:05d}" for i in range(30)]
    by_created = export_all(admin, limit=7, order_by="created_at")
    assert sorted(i["comment"]["uid"] for i in by_created) == sorted(i["comment"]["uid"] for i in items)


@pytest.mark.parametrize("merged_sources", [32, 1], ids=["per-source-branches", "one-statement"])
def test_paging_orders_ties_by_source_then_id(admin, setup, monkeypatch, merged_sources):
    from reinfer_clone.services import export

    monkeypatch.setattr(export, "MAX_MERGED_SOURCES", merged_sources)
    a, b = setup
    # Three timestamps, each shared by several comments in both sources, so
    # page boundaries fall inside runs of equal timestamps.
    for source in ("a", "b"):
        ok(sync(admin, [comment(i, id=f"x-{i:02d}", timestamp=f"2024-03-04T00:00:0{i % 3}Z")
                        for i in range(12)], source=source))
    items = export_all(admin, limit=5)
    keys = [(i["comment"]["timestamp"], i["comment"]["source_id"], i["comment"]["id"]) for i in items]
    assert len(keys) == 24 and len(set(keys)) == 24
    assert keys == sorted(keys)
    assert keys[0] == ("2024-03-04T00:00:00Z", min(a["id"], b["id"]), "x-00")
    after = export_all(admin, limit=3, **{"from": "2024-03-04T00:00:01Z"})
    assert [i["comment"]["uid"] for i in after] == [i["comment"]["uid"] for i in items[8:]]


def test_paging_while_comments_change(admin, setup):
    ok(sync(admin, [comment(i) for i in range(20)], source="a"))
    seen, continuation, added = [], None, 100
    while True:
        page = ok(admin.post(EXPORT, json={"limit": 3, **({"continuation": continuation} if continuation else {})}))
        seen.extend(i["comment"]["id"] for i in page["comments"])
        # Behind the cursor: a deletion of what was read and a late arrival with an old timestamp.
        ids = [i["comment"]["id"] for i in page["comments"]]
        ok(admin.delete("/api/v1/sources/acme/a/comments", query_string=[("id", x) for x in ids]))
        ok(sync(admin, [comment(0, id=f"late-{added}")], source="a"))
        added += 1
        continuation = page.get("continuation")
        if not continuation:
            break
    assert seen[:20] == [f"c-{i:05d}" for i in range(20)]
    assert len(seen) == len(set(seen))


def test_filters(admin, setup):
    a, b = setup
    ok(sync(admin, [comment(i) for i in range(6)], source="a"))
    ok(sync(admin, [comment(i) for i in range(6, 9)], source="b"))
    only_b = export_all(admin, source_ids=[b["id"]])
    assert [i["comment"]["id"] for i in only_b] == ["c-00006", "c-00007", "c-00008"]
    window = export_all(admin, **{"from": "2024-03-04T00:00:02Z", "to": "2024-03-04T00:00:04Z"})
    assert [i["comment"]["id"] for i in window] == ["c-00002", "c-00003", "c-00004"]
    picked = ok(admin.post(EXPORT, json={"comment_uids": [f"{b['id']}.c-00007", f"{a['id']}.c-00001"]}))
    assert sorted(i["comment"]["id"] for i in picked["comments"]) == ["c-00001", "c-00007"]


@pytest.mark.parametrize("body, field", [
    ({"limit": 257}, "limit"),
    ({"limit": "10"}, "limit"),
    ({"order_by": "random"}, "order_by"),
    ({"from": "2024-01-01T00:00:00"}, "from"),
    ({"source_ids": ["0123456789abcdef"]}, "source_ids"),
    ({"comment_uids": ["x.y"], "source_ids": []}, "comment_uids"),
    ({"continuation": "junk"}, "continuation"),
])
def test_bad_requests(admin, setup, body, field):
    assert field in error(admin.post(EXPORT, json=body), 400)


def test_permissions_and_404(app, admin, setup):
    error(admin.post("/api/v1/datasets/acme/ghost/export", json={}), 404)
    make_project(admin, "other")
    reader = make_user(app, "reader", projects={"acme": ["voc-readonly", "sources-read"]})
    exporter = make_user(app, "exporter", projects={"acme": ["datasets-export", "sources-read"]})
    outsider = make_user(app, "outsider", projects={"other": ["datasets-export", "sources-read"]})
    error(reader.post(EXPORT, json={}), 403)
    error(outsider.post(EXPORT, json={}), 403)
    ok(exporter.post(EXPORT, json={}))


def test_401(anon, setup):
    error(anon.post(EXPORT, json={}), 401)
