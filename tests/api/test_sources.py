from urllib.parse import quote

import pytest

from ..helpers import HEX_RE, error, is_utc, make_bucket, make_project, make_source, make_user, ok

SOURCE_KEYS = {
    "id", "owner", "name", "title", "description", "language", "should_translate",
    "sensitive_properties", "bucket_id", "_kind", "email_transform_tag",
    "created_at", "updated_at", "last_modified",
}


@pytest.fixture
def project(admin):
    return make_project(admin, "acme")


def test_create_source_returns_full_object_with_defaults(admin, project):
    source = make_source(admin, "acme", "inbox")
    assert set(source) == SOURCE_KEYS
    assert HEX_RE.match(source["id"])
    assert source["owner"] == "acme" and source["name"] == "inbox"
    assert source["title"] == "" and source["description"] == ""
    assert source["language"] == "en"
    assert source["should_translate"] is False
    assert source["_kind"] == "unknown"
    assert source["sensitive_properties"] == []
    assert source["bucket_id"] is None and source["email_transform_tag"] is None
    assert is_utc(source["created_at"]) and source["updated_at"] == source["last_modified"]


def test_create_source_echoes_every_given_field(admin, project):
    bucket = make_bucket(admin, "acme", "mail")
    source = make_source(
        admin, "acme", "calls", title="Calls", description="Phone", language="de",
        should_translate=True, _kind="call", sensitive_properties=["string:Customer ID"],
        email_transform_tag="generic.0.CONVKER5", bucket_id=bucket["id"], unknown_field=1,
    )
    assert source["title"] == "Calls" and source["description"] == "Phone"
    assert source["language"] == "de" and source["should_translate"] is True
    assert source["_kind"] == "call"
    assert source["sensitive_properties"] == ["string:Customer ID"]
    assert source["email_transform_tag"] == "generic.0.CONVKER5"
    assert source["bucket_id"] == bucket["id"]
    again = ok(admin.get("/api/v1/sources/acme/calls"))["source"]
    assert again == source


def test_get_by_encoded_name_and_by_id(admin, project):
    source = make_source(admin)
    assert ok(admin.get("/api/v1/sources/" + quote("acme/inbox", safe="")))["source"] == source
    assert ok(admin.get(f"/api/v1/sources/id:{source['id']}"))["source"] == source


def test_lists(admin, project):
    make_project(admin, "other")
    a = make_source(admin, "acme", "a")
    b = make_source(admin, "acme", "b")
    c = make_source(admin, "other", "c")
    assert ok(admin.get("/api/v1/sources"))["sources"] == [a, b, c]
    assert ok(admin.get("/api/v1/sources/acme"))["sources"] == [a, b]


def test_list_shows_only_readable_sources(app, admin, project):
    make_project(admin, "other")
    make_source(admin, "acme", "a")
    visible = make_source(admin, "other", "b")
    reader = make_user(app, "reader", projects={"other": ["sources-read"]})
    assert ok(reader.get("/api/v1/sources"))["sources"] == [visible]
    error(reader.get("/api/v1/sources/acme"), 403)


def test_update_changes_only_given_fields(admin, project):
    source = make_source(admin, title="Old", description="Keep", language="de")
    updated = ok(admin.post("/api/v1/sources/acme/inbox", json={"source": {"title": "New"}}))["source"]
    assert updated["title"] == "New"
    assert updated["description"] == "Keep" and updated["language"] == "de"
    assert updated["created_at"] == source["created_at"]
    assert updated["updated_at"] >= source["updated_at"]
    unchanged = ok(admin.post("/api/v1/sources/acme/inbox", json={"source": {}}))["source"]
    assert unchanged == updated


def test_update_bucket_id_null_clears_it(admin, project):
    bucket = make_bucket(admin)
    make_source(admin, bucket_id=bucket["id"])
    body = {"source": {"bucket_id": None, "should_translate": True}}
    updated = ok(admin.post("/api/v1/sources/acme/inbox", json=body))["source"]
    assert updated["bucket_id"] is None and updated["should_translate"] is True


def test_delete_by_id_and_by_name(admin, project):
    a = make_source(admin, name="a")
    make_source(admin, name="b")
    assert ok(admin.delete(f"/api/v1/sources/id:{a['id']}")) == {"status": "ok"}
    assert ok(admin.delete("/api/v1/sources/acme/b")) == {"status": "ok"}
    assert ok(admin.get("/api/v1/sources"))["sources"] == []
    error(admin.get(f"/api/v1/sources/id:{a['id']}"), 404)


def test_statistics_counts_comments(admin, project):
    make_source(admin)
    body = {"comment_filter": {"timestamp": {"minimum": "2024-01-01T00:00:00Z"}}}
    stats = ok(admin.post("/api/v1/sources/acme/inbox/statistics", json=body))["statistics"]
    assert stats == {"num_comments": 0}
    message = error(admin.post(
        "/api/v1/sources/acme/inbox/statistics",
        json={"comment_filter": {"timestamp": {"minimum": "2024-01-01T00:00:00"}}},
    ), 400)
    assert "comment_filter.timestamp.minimum" in message and "offset" in message


# --- errors --------------------------------------------------------------------------

def test_duplicate_is_409(admin, project):
    make_source(admin)
    assert "already exists" in error(admin.put("/api/v1/sources/acme/inbox", json={"source": {}}), 409)


def test_missing_things_are_404(admin, project):
    error(admin.get("/api/v1/sources/acme/nope"), 404)
    error(admin.get("/api/v1/sources/id:0123456789abcdef"), 404)
    error(admin.post("/api/v1/sources/acme/nope", json={"source": {}}), 404)
    error(admin.delete("/api/v1/sources/acme/nope"), 404)
    error(admin.delete("/api/v1/sources/id:0123456789abcdef"), 404)
    error(admin.post("/api/v1/sources/acme/nope/statistics", json={}), 404)
    assert "Project 'ghost'" in error(admin.put("/api/v1/sources/ghost/x", json={"source": {}}), 404)
    body = {"source": {"bucket_id": "0123456789abcdef"}}
    assert "Bucket" in error(admin.put("/api/v1/sources/acme/x", json=body), 404)


@pytest.mark.parametrize(
    "fields, field_name",
    [
        ({"title": 3}, "source.title"),
        ({"should_translate": "yes"}, "source.should_translate"),
        ({"sensitive_properties": "string:x"}, "source.sensitive_properties"),
        ({"language": None}, "source.language"),
    ],
)
def test_bad_field_types_are_400_naming_the_field(admin, project, fields, field_name):
    message = error(admin.put("/api/v1/sources/acme/inbox", json={"source": fields}), 400)
    assert field_name in message
    assert ok(admin.get("/api/v1/sources"))["sources"] == []


def test_missing_wrapper_and_bad_name_are_400(admin, project):
    assert "source" in error(admin.put("/api/v1/sources/acme/inbox", json={}), 400)
    assert "name" in error(admin.put("/api/v1/sources/acme/bad%20name", json={"source": {}}), 400)


def test_unknown_transform_tag_is_422(admin, project):
    body = {"source": {"email_transform_tag": "nope.1"}}
    message = error(admin.put("/api/v1/sources/acme/inbox", json=body), 422)
    assert message == "The value 'nope.1' is not a valid transform tag."


def test_permissions(app, admin, project):
    source = make_source(admin)
    make_project(admin, "other")
    reader = make_user(app, "reader", projects={"acme": ["sources-read"]})
    outsider = make_user(app, "outsider", projects={"other": ["sources-read", "sources-admin"]})
    ok(reader.get("/api/v1/sources/acme/inbox"))
    ok(reader.post("/api/v1/sources/acme/inbox/statistics", json={}))
    # Reading is not administering.
    error(reader.put("/api/v1/sources/acme/new", json={"source": {}}), 403)
    error(reader.post("/api/v1/sources/acme/inbox", json={"source": {}}), 403)
    error(reader.delete(f"/api/v1/sources/id:{source['id']}"), 403)
    # Another project's token sees nothing here.
    for response in (
        outsider.get("/api/v1/sources/acme/inbox"),
        outsider.get(f"/api/v1/sources/id:{source['id']}"),
        outsider.get("/api/v1/sources/acme"),
        outsider.put("/api/v1/sources/acme/new", json={"source": {}}),
        outsider.post("/api/v1/sources/acme/inbox", json={"source": {}}),
        outsider.delete("/api/v1/sources/acme/inbox"),
        outsider.delete(f"/api/v1/sources/id:{source['id']}"),
        outsider.post("/api/v1/sources/acme/inbox/statistics", json={}),
    ):
        # By id, a source of a project one has no code on answers like an unknown id.
        error(response, 404 if "id:" in response.request.path else 403)
    assert ok(admin.get("/api/v1/sources"))["sources"] == [source]


def test_401_without_or_with_wrong_token(anon, admin, project):
    make_source(admin)
    error(anon.get("/api/v1/sources/acme/inbox"), 401)
    error(anon.get("/api/v1/sources/acme/inbox", headers={"Authorization": "Bearer nope"}), 401)
