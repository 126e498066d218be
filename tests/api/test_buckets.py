import pytest

from ..helpers import HEX_RE, error, is_utc, make_bucket, make_project, make_source, make_user, ok


@pytest.fixture
def project(admin):
    return make_project(admin, "acme")


def test_create_get_list_delete(admin, project):
    bucket = make_bucket(admin, "acme", "mail", title="Mailbox")
    assert set(bucket) == {"id", "name", "owner", "title", "bucket_type", "created_at"}
    assert HEX_RE.match(bucket["id"]) and is_utc(bucket["created_at"])
    assert (bucket["name"], bucket["owner"], bucket["title"], bucket["bucket_type"]) == (
        "mail", "acme", "Mailbox", "emails")
    assert ok(admin.get("/api/_private/buckets/acme/mail"))["bucket"] == bucket
    assert ok(admin.get(f"/api/_private/buckets/id:{bucket['id']}"))["bucket"] == bucket
    assert ok(admin.get("/api/_private/buckets"))["buckets"] == [bucket]
    source = make_source(admin, bucket_id=bucket["id"])
    assert source["bucket_id"] == bucket["id"]
    assert ok(admin.delete(f"/api/_private/buckets/id:{bucket['id']}")) == {"status": "ok"}
    assert ok(admin.get("/api/_private/buckets"))["buckets"] == []
    assert ok(admin.get("/api/v1/sources/acme/inbox"))["source"]["bucket_id"] is None


def test_errors(admin, project):
    make_bucket(admin)
    error(admin.put("/api/_private/buckets/acme/mail", json={"bucket": {}}), 409)
    message = error(admin.put("/api/_private/buckets/acme/x", json={"bucket": {"bucket_type": "sms"}}), 400)
    assert "bucket.bucket_type" in message and "'sms' is not one of ['emails']" in message
    assert "bucket.title" in error(admin.put("/api/_private/buckets/acme/x", json={"bucket": {"title": 5}}), 400)
    assert "name" in error(admin.put("/api/_private/buckets/acme/a.b", json={"bucket": {}}), 400)
    error(admin.get("/api/_private/buckets/acme/nope"), 404)
    error(admin.get("/api/_private/buckets/id:0123456789abcdef"), 404)
    error(admin.delete("/api/_private/buckets/id:0123456789abcdef"), 404)
    error(admin.put("/api/_private/buckets/ghost/x", json={"bucket": {}}), 404)
    assert len(ok(admin.get("/api/_private/buckets"))["buckets"]) == 1


def test_permissions(app, admin, project):
    bucket = make_bucket(admin)
    make_project(admin, "other")
    reader = make_user(app, "reader", projects={"acme": ["sources-read"]})
    outsider = make_user(app, "outsider", projects={"other": ["sources-read", "sources-admin"]})
    assert ok(reader.get("/api/_private/buckets"))["buckets"] == [bucket]
    assert ok(outsider.get("/api/_private/buckets"))["buckets"] == []
    error(reader.put("/api/_private/buckets/acme/new", json={"bucket": {}}), 403)
    error(reader.delete(f"/api/_private/buckets/id:{bucket['id']}"), 403)
    error(outsider.get("/api/_private/buckets/acme/mail"), 403)
    error(outsider.get(f"/api/_private/buckets/id:{bucket['id']}"), 404)
    error(outsider.delete(f"/api/_private/buckets/id:{bucket['id']}"), 404)
    assert ok(admin.get("/api/_private/buckets"))["buckets"] == [bucket]


def test_401(anon):
    error(anon.get("/api/_private/buckets"), 401)
