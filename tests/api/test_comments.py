from urllib.parse import quote

import pytest

from ..helpers import (
    comment, error, is_utc, iterate_comments, make_project, make_source, make_user, ok, sync, upload,
)

RICH = {
    "id": "msg/0001.a:b%c",
    "timestamp": "2024-03-04T17:20:00.123+01:00",
    "thread_id": "t-77",
    "messages": [{
        "from": "kim@example.org", "to": ["help@acme.test"],
        "subject": {"text": "Refund?"},
        "body": {"text": "I was charged twice.", "text_markup": [{"b": "twice"}]},
        "signature": {"text": "Kim", "text_markup": {"i": 1}},
        "sent_at": "2024-03-04T17:20:00Z", "x-custom": {"kept": True},
    }],
    "user_properties": {"string:Channel": "email", "number:Order Total": 42.5},
    "attachments": [{"name": "a.pdf", "size": 10, "content_type": "application/pdf"}],
    "uid": "ignored", "created_at": "ignored", "has_annotations": True,
}


@pytest.fixture
def source(admin):
    make_project(admin, "acme")
    return make_source(admin, "acme", "inbox")


def get_one(client, comment_id, markup=True):
    path = f"/api/v1/sources/acme/inbox/comments/{quote(comment_id, safe=':.')}"
    return ok(client.get(path, query_string={"include_markup": str(markup).lower()}))["comment"]


def test_upload_answers_exactly_ok_and_echoes_verbatim(admin, source):
    response = upload(admin, [RICH])
    assert response.get_json() == {"status": "ok"} and response.status_code == 200
    stored = get_one(admin, RICH["id"])
    assert stored["id"] == RICH["id"]
    assert stored["uid"] == f"{source['id']}.{RICH['id']}"
    assert stored["timestamp"] == "2024-03-04T16:20:00.123000Z"
    assert stored["messages"] == RICH["messages"]
    assert stored["user_properties"] == RICH["user_properties"]
    assert stored["attachments"] == RICH["attachments"]
    assert stored["thread_id"] == "t-77"
    assert stored["has_annotations"] is False and stored["text_format"] == "plain"
    assert stored["source_id"] == source["id"]
    assert is_utc(stored["created_at"]) and is_utc(stored["last_modified"])
    without = get_one(admin, RICH["id"], markup=False)
    assert "text_markup" not in without["messages"][0]["body"]
    assert "text_markup" not in without["messages"][0]["signature"]
    assert without["messages"][0]["body"]["text"] == "I was charged twice."
    # Stripping markup for one reader never touches what is stored.
    assert get_one(admin, RICH["id"])["messages"] == RICH["messages"]


def test_minimal_comment_omits_empty_optional_parts(admin, source):
    ok(upload(admin, [comment(1)]))
    stored = get_one(admin, "c-00001")
    for key in ("thread_id", "user_properties", "attachments"):
        assert key not in stored
    assert stored["messages"] == [{"body": {"text": "message 1"}}]


def test_upload_is_create_only(admin, source):
    ok(upload(admin, [comment(1), comment(2)]))
    ok(upload(admin, [comment(1)]))  # identical: no-op
    message = error(upload(admin, [comment(3), comment(1, thread_id="changed")]), 409)
    assert "c-00001" in message
    assert [c["id"] for c in iterate_comments(admin)] == ["c-00001", "c-00002"]
    message = error(upload(admin, [comment(4), comment(4, thread_id="x")]), 409)
    assert "twice" in message
    ok(upload(admin, [comment(5), comment(5)]))
    assert [c["id"] for c in iterate_comments(admin)] == ["c-00001", "c-00002", "c-00005"]


def test_sync_counts_and_keeps_created_at(admin, source):
    body = ok(sync(admin, [comment(1), comment(2)]))
    assert body == {"status": "ok", "new": 2, "updated": 0, "unchanged": 0}
    first = get_one(admin, "c-00001")
    body = ok(sync(admin, [comment(1, thread_id="t"), comment(2), comment(3)]))
    assert (body["new"], body["updated"], body["unchanged"]) == (1, 1, 1)
    for key in ("new", "updated", "unchanged"):
        assert type(body[key]) is int
    updated = get_one(admin, "c-00001")
    assert updated["thread_id"] == "t"
    assert updated["created_at"] == first["created_at"]
    assert updated["last_modified"] > first["last_modified"]
    # Repeated ids apply in order; the last one wins.
    body = ok(sync(admin, [comment(4, thread_id="a"), comment(4, thread_id="b")]))
    assert (body["new"], body["updated"], body["unchanged"]) == (1, 1, 0)
    assert get_one(admin, "c-00004")["thread_id"] == "b"
    # A stored id repeated: first as stored (unchanged), then changed (updated).
    body = ok(sync(admin, [comment(1, thread_id="t"), comment(1, thread_id="u"), comment(2)]))
    assert (body["new"], body["updated"], body["unchanged"]) == (0, 1, 2)
    assert get_one(admin, "c-00001")["thread_id"] == "u"


def test_iteration_pages_in_timestamp_order_with_bounds(admin, source):
    ok(sync(admin, [comment(i) for i in reversed(range(10))]))
    page = ok(admin.get("/api/_private/sources/acme/inbox/comments", query_string={"limit": 4}))
    assert [c["id"] for c in page["comments"]] == ["c-00000", "c-00001", "c-00002", "c-00003"]
    assert page["continuation"]
    everything = iterate_comments(admin, limit=3)
    assert [c["id"] for c in everything] == [f"c-{i:05d}" for i in range(10)]
    bounded = iterate_comments(admin, limit=2, from_timestamp="2024-03-04T00:00:02Z",
                               to_timestamp="2024-03-04T00:00:05Z")
    assert [c["id"] for c in bounded] == ["c-00002", "c-00003", "c-00004", "c-00005"]
    # Other spellings, on the v1 path too; '+' decoded as a space is tolerated.
    body = ok(admin.get("/api/v1/sources/acme/inbox/comments",
                        query_string={"from": "2024-03-04T01:00:08 01:00", "to": "2024-03-04T00:00:08Z"}))
    assert [c["id"] for c in body["comments"]] == ["c-00008"] and "continuation" not in body


def test_same_timestamp_pages_by_id(admin, source):
    same = [comment(i, timestamp="2024-01-01T00:00:00Z") for i in range(7)]
    ok(sync(admin, same))
    assert [c["id"] for c in iterate_comments(admin, limit=2)] == [f"c-{i:05d}" for i in range(7)]


def test_paging_while_deleting_sees_every_remaining_comment_once(admin, source):
    ok(sync(admin, [comment(i) for i in range(20)]))
    seen, after = [], None
    while True:
        query = {"limit": 5, **({"after": after} if after else {})}
        body = ok(admin.get("/api/_private/sources/acme/inbox/comments", query_string=query))
        seen.extend(c["id"] for c in body["comments"])
        # Delete what was just read, as `re delete bulk` does.
        ids = [c["id"] for c in body["comments"]]
        ok(admin.delete("/api/v1/sources/acme/inbox/comments", query_string=[("id", i) for i in ids]))
        after = body.get("continuation")
        if not after:
            break
    assert seen == [f"c-{i:05d}" for i in range(20)]
    assert iterate_comments(admin) == []


def test_delete_by_ids(admin, source):
    ok(sync(admin, [comment(i) for i in range(4)] + [comment(9, id="a/b.c")]))
    ok(admin.delete("/api/v1/sources/acme/inbox/comments",
                    query_string=[("id", "c-00001"), ("id", "nope"), ("id", "a/b.c")]))
    ok(admin.delete("/api/v1/sources/acme/inbox/messages", query_string={"id": "c-00002"}))
    assert [c["id"] for c in iterate_comments(admin)] == ["c-00000", "c-00003"]
    error(admin.get("/api/v1/sources/acme/inbox/comments/c-00001"), 404)
    many = [("id", f"x{i}") for i in range(1025)]
    assert "1024" in error(admin.delete("/api/v1/sources/acme/inbox/comments", query_string=many), 400)


def test_source_statistics_count_comments(admin, source):
    ok(sync(admin, [comment(i) for i in range(6)]))
    stats = ok(admin.post("/api/v1/sources/acme/inbox/statistics", json={
        "comment_filter": {"timestamp": {"minimum": "2024-03-04T00:00:02Z", "maximum": "2024-03-04T00:00:04Z"}}}))
    assert stats["statistics"] == {"num_comments": 3}
    assert ok(admin.post("/api/v1/sources/acme/inbox/statistics", json={}))["statistics"]["num_comments"] == 6


def test_deleting_the_source_deletes_its_comments(admin, source, session):
    from reinfer_clone.models import Comment

    ok(sync(admin, [comment(i) for i in range(3)]))
    ok(admin.delete("/api/v1/sources/acme/inbox"))
    assert session.query(Comment).count() == 0


@pytest.mark.parametrize("bad, field", [
    ({"timestamp": "2024-03-04T17:20:00"}, "comments.1.timestamp"),
    ({"timestamp": 5}, "comments.1.timestamp"),
    ({"id": ""}, "comments.1.id"),
    ({"id": "has space"}, "comments.1.id"),
    ({"messages": [{"subject": {"text": "no body"}}]}, "comments.1.messages.0.body"),
    ({"messages": [{"body": {"text": 3}}]}, "comments.1.messages.0.body.text"),
    ({"messages": [{"body": {"text": "x"}, "to": "a@b"}]}, "comments.1.messages.0.to"),
    ({"user_properties": {"Channel": "x"}}, "comments.1.user_properties.Channel"),
    ({"user_properties": {"number:Total": "12"}}, "comments.1.user_properties.number:Total"),
    ({"user_properties": {"string:Name": 12}}, "comments.1.user_properties.string:Name"),
    ({"user_properties": {"number:Flag": True}}, "comments.1.user_properties.number:Flag"),
    ({"attachments": [{"name": "a", "size": 1.5, "content_type": "x"}]}, "comments.1.attachments.0.size"),
])
def test_a_bad_comment_rejects_the_whole_batch(admin, source, bad, field):
    batch = [comment(0), comment(1, **bad), comment(2)]
    for send in (upload, sync):
        message = error(send(admin, batch), 400)
        assert field in message, message
    assert iterate_comments(admin) == []


def test_missing_fields_and_batch_limit(admin, source):
    missing = comment(1)
    del missing["messages"]
    assert "comments.0.messages" in error(upload(admin, [missing]), 400)
    assert "comments" in error(admin.put("/api/_private/sources/acme/inbox/comments", json={}), 400)
    assert "4096" in error(sync(admin, [comment(i) for i in range(4097)]), 400)
    assert iterate_comments(admin) == []


def test_bad_query_parameters(admin, source):
    base = "/api/_private/sources/acme/inbox/comments"
    assert "limit" in error(admin.get(base, query_string={"limit": "many"}), 400)
    assert "from_timestamp" in error(admin.get(base, query_string={"from_timestamp": "2024-01-01T00:00:00"}), 400)
    assert "after" in error(admin.get(base, query_string={"after": "garbage"}), 400)
    assert len(ok(admin.get(base, query_string={"limit": 100000}))["comments"]) == 0


def test_unknown_source_and_comment_are_404(admin, source):
    error(upload(admin, [comment(1)], source="nope"), 404)
    error(sync(admin, [comment(1)], source="nope"), 404)
    error(admin.get("/api/_private/sources/acme/nope/comments"), 404)
    error(admin.get("/api/v1/sources/acme/inbox/comments/nope"), 404)
    error(admin.delete("/api/v1/sources/acme/nope/comments", query_string={"id": "x"}), 404)


def test_permissions(app, admin, source):
    make_project(admin, "other")
    ok(sync(admin, [comment(1)]))
    reader = make_user(app, "reader", projects={"acme": ["sources-read"]})
    writer = make_user(app, "writer", projects={"acme": ["sources-add-comments"]})
    outsider = make_user(app, "outsider", projects={"other": ["sources-read", "sources-add-comments"]})
    ok(reader.get("/api/_private/sources/acme/inbox/comments"))
    ok(reader.get("/api/v1/sources/acme/inbox/comments/c-00001"))
    error(upload(reader, [comment(2)]), 403)
    error(sync(reader, [comment(2)]), 403)
    error(reader.delete("/api/v1/sources/acme/inbox/comments", query_string={"id": "c-00001"}), 403)
    ok(sync(writer, [comment(2)]))
    error(writer.get("/api/_private/sources/acme/inbox/comments"), 403)
    for response in (
        outsider.get("/api/_private/sources/acme/inbox/comments"),
        outsider.get("/api/v1/sources/acme/inbox/comments/c-00001"),
        upload(outsider, [comment(3)]), sync(outsider, [comment(3)]),
        outsider.delete("/api/v1/sources/acme/inbox/comments", query_string={"id": "c-00001"}),
    ):
        error(response, 403)
    assert [c["id"] for c in iterate_comments(admin)] == ["c-00001", "c-00002"]


def test_401(anon, source):
    error(anon.get("/api/_private/sources/acme/inbox/comments"), 401)
    error(upload(anon, [comment(1)]), 401)
