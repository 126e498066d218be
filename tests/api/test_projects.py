import pytest

from ..helpers import HEX_RE, error, is_utc, make_bucket, make_project, make_source, make_user, ok

PROJECT_KEYS = {"id", "name", "title", "description", "created_at", "updated_at"}


def test_create_grants_members_every_project_code(app, admin):
    member = make_user(app, "member")
    body = {"project": {"title": "ACME support"}, "user_ids": [admin.user_id, member.user_id]}
    project = ok(admin.put("/api/_private/projects/acme-support", json=body))["project"]
    assert set(project) == PROJECT_KEYS
    assert HEX_RE.match(project["id"]) and project["name"] == "acme-support"
    assert project["title"] == "ACME support" and project["description"] == ""
    assert is_utc(project["created_at"]) and project["created_at"] == project["updated_at"]
    codes = ok(member.get("/auth/user"))["user"]["organisation_permissions"]["acme-support"]
    assert "sources-read" in codes and "datasets-admin" in codes and "streams-consume" in codes
    assert ok(member.get("/api/_private/projects"))["projects"] == [project]
    assert ok(member.get("/api/_private/projects/acme-support"))["project"] == project


def test_list_shows_only_visible_projects(app, admin):
    a = make_project(admin, "a")
    make_project(admin, "b")
    user = make_user(app, "u", projects={"a": ["sources-read"]})
    assert ok(user.get("/api/_private/projects"))["projects"] == [a]
    error(user.get("/api/_private/projects/b"), 403)
    assert [p["name"] for p in ok(admin.get("/api/_private/projects"))["projects"]] == ["a", "b"]


def test_update_changes_only_given_fields(admin):
    make_project(admin, "acme", title="T", description="D")
    updated = ok(admin.post("/api/_private/projects/acme", json={"project": {"title": "New"}}))["project"]
    assert updated["title"] == "New" and updated["description"] == "D"
    same = ok(admin.post("/api/_private/projects/acme", json={"project": {}}))["project"]
    assert same == updated


def test_delete_without_force_is_blocked_by_children(app, admin):
    make_project(admin, "acme")
    member = make_user(app, "member", projects={"acme": ["sources-read"]})
    make_source(admin, "acme", "inbox")
    message = error(admin.delete("/api/_private/projects/acme"), 409)
    assert message == (
        'Project contains child resources but force deletion was not requested: {"sources": 1}'
    )
    make_bucket(admin, "acme", "mail")
    message = error(admin.delete("/api/_private/projects/acme?force=false"), 409)
    assert message.endswith('{"buckets": 1, "sources": 1}')
    assert ok(admin.delete("/api/_private/projects/acme?force=true")) == {"status": "ok"}
    assert ok(admin.get("/api/_private/projects"))["projects"] == []
    assert ok(admin.get("/api/v1/sources"))["sources"] == []
    assert ok(admin.get("/api/_private/buckets"))["buckets"] == []
    assert ok(member.get("/auth/user"))["user"]["organisation_permissions"] == {}


def test_delete_empty_project(admin):
    make_project(admin, "acme")
    ok(admin.delete("/api/_private/projects/acme"))
    error(admin.get("/api/_private/projects/acme"), 404)


def test_errors(admin):
    make_project(admin, "acme")
    error(admin.put("/api/_private/projects/acme", json={"project": {}}), 409)
    error(admin.get("/api/_private/projects/ghost"), 404)
    error(admin.post("/api/_private/projects/ghost", json={"project": {}}), 404)
    error(admin.delete("/api/_private/projects/ghost"), 404)
    assert "name" in error(admin.put("/api/_private/projects/bad%20name", json={}), 400)
    body = {"project": {}, "user_ids": ["0123456789abcdef"]}
    assert "user_ids" in error(admin.put("/api/_private/projects/new", json=body), 400)
    assert "project.title" in error(admin.put("/api/_private/projects/new", json={"project": {"title": 1}}), 400)
    assert "user_ids" in error(admin.put("/api/_private/projects/new", json={"user_ids": "x"}), 400)
    assert "force" in error(admin.delete("/api/_private/projects/acme?force=maybe"), 400)
    assert [p["name"] for p in ok(admin.get("/api/_private/projects"))["projects"]] == ["acme"]


@pytest.mark.parametrize("method, path", [
    ("PUT", "/api/_private/projects/new"),
    ("POST", "/api/_private/projects/acme"),
    ("DELETE", "/api/_private/projects/acme"),
])
def test_admin_routes_need_tenant_admin(app, admin, method, path):
    make_project(admin, "acme")
    member = make_user(app, "member", projects={"acme": ["sources-admin", "users-write"]})
    error(member.request(method, path, json={"project": {}}), 403)
    tenant = make_user(app, "tenant", global_permissions=["tenant-admin"])
    assert tenant.request(method, path, json={"project": {}}).status_code == 200


def test_401(anon):
    error(anon.get("/api/_private/projects"), 401)
    error(anon.put("/api/_private/projects/acme", json={}), 401)
