import pytest

from ..helpers import HEX_RE, error, is_utc, make_user, ok


def new_user(username="kim", **extra):
    return {"user": {"username": username, "email": f"{username}@example.org",
                     "global_permissions": [], "organisation_permissions": {}, **extra}}


def test_create_get_list_update_delete(admin):
    body = new_user(organisation_permissions={"acme": ["sources-read"]})
    created = ok(admin.put("/api/_private/users", json=body))["user"]
    assert HEX_RE.match(created["id"]) and is_utc(created["created"])
    assert created["username"] == "kim" and created["email"] == "kim@example.org"
    assert created["organisation_permissions"] == {"acme": ["sources-read"]}
    assert created["global_permissions"] == [] and created["sso_global_permissions"] == []
    assert ok(admin.get(f"/api/_private/users/{created['id']}"))["user"] == created

    listed = ok(admin.get("/api/_private/users"))["users"]
    assert [u["username"] for u in listed] == ["admin", "kim"]
    assert ok(admin.get("/api/v1/users"))["users"] == listed

    update = {"user": {"organisation_permissions": {"other": ["voc", "voc-readonly"]}}}
    updated = ok(admin.post(f"/api/_private/users/{created['id']}", json=update))["user"]
    assert updated["organisation_permissions"] == {"other": ["voc", "voc-readonly"]}
    assert updated["global_permissions"] == []
    # An empty update changes nothing.
    assert ok(admin.post(f"/api/_private/users/{created['id']}", json={"user": {}}))["user"] == updated

    assert ok(admin.post(f"/api/_private/users/{created['id']}/welcome-email", json={})) == {"status": "ok"}
    assert ok(admin.delete(f"/api/_private/users/{created['id']}")) == {"status": "ok"}
    error(admin.get(f"/api/_private/users/{created['id']}"), 404)
    assert [u["username"] for u in ok(admin.get("/api/_private/users"))["users"]] == ["admin"]


def test_duplicates_are_409(admin):
    ok(admin.put("/api/_private/users", json=new_user("kim")))
    error(admin.put("/api/_private/users", json=new_user("kim")), 409)
    body = new_user("other")
    body["user"]["email"] = "kim@example.org"
    assert "email" in error(admin.put("/api/_private/users", json=body), 409)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"username": None}, "user.username"),
        ({"email": "not-an-email"}, "user.email"),
        ({"global_permissions": "root"}, "user.global_permissions"),
        ({"organisation_permissions": {"acme": "voc"}}, "user.organisation_permissions"),
        ({"global_permissions": ["emperor"]}, "global_permissions"),
        ({"organisation_permissions": {"acme": ["fly"]}}, "organisation_permissions"),
        ({"username": "has space"}, "username"),
    ],
)
def test_bad_input_is_400_naming_the_field(admin, change, field):
    body = new_user()
    body["user"].update(change)
    assert field in error(admin.put("/api/_private/users", json=body), 400)
    assert len(ok(admin.get("/api/_private/users"))["users"]) == 1


def test_missing_field_is_400(admin):
    assert "user.email" in error(admin.put("/api/_private/users", json={"user": {"username": "x"}}), 400)
    assert "user" in error(admin.put("/api/_private/users", json={}), 400)


def test_unknown_user_is_404(admin):
    for response in (
        admin.get("/api/_private/users/0123456789abcdef"),
        admin.post("/api/_private/users/0123456789abcdef", json={"user": {}}),
        admin.delete("/api/_private/users/0123456789abcdef"),
        admin.post("/api/_private/users/0123456789abcdef/welcome-email", json={}),
    ):
        error(response, 404)


def test_permissions(app, admin):
    plain = make_user(app, "plain", projects={"acme": ["sources-read"]})
    reader = make_user(app, "reader", projects={"acme": ["users-read"]})
    writer = make_user(app, "writer", projects={"acme": ["users-write"]})
    # Anyone reads themselves; reading others needs users-read.
    assert ok(plain.get(f"/api/_private/users/{plain.user_id}"))["user"]["username"] == "plain"
    error(plain.get("/api/_private/users"), 403)
    error(plain.get(f"/api/_private/users/{reader.user_id}"), 403)
    assert len(ok(reader.get("/api/_private/users"))["users"]) == 4
    ok(reader.get(f"/api/_private/users/{plain.user_id}"))
    # Writing needs users-write, and only grants on the writer's projects.
    error(reader.put("/api/_private/users", json=new_user("x")), 403)
    error(reader.post(f"/api/_private/users/{plain.user_id}", json={"user": {}}), 403)
    error(reader.delete(f"/api/_private/users/{plain.user_id}"), 403)
    error(reader.post(f"/api/_private/users/{plain.user_id}/welcome-email", json={}), 403)
    created = ok(writer.put("/api/_private/users", json=new_user(
        "y", organisation_permissions={"acme": ["voc"]})))["user"]
    assert created["organisation_permissions"] == {"acme": ["voc"]}
    error(writer.put("/api/_private/users", json=new_user(
        "z", organisation_permissions={"other": ["voc"]})), 403)
    error(writer.put("/api/_private/users", json=new_user("z", global_permissions=["root"])), 403)
    error(writer.post(f"/api/_private/users/{plain.user_id}",
                      json={"user": {"global_permissions": ["tenant-admin"]}}), 403)
    # A tenant admin may grant global codes, but not root.
    tenant = make_user(app, "tenant", global_permissions=["tenant-admin"])
    ok(tenant.put("/api/_private/users", json=new_user("t2", global_permissions=["tenant-admin"])))
    error(tenant.put("/api/_private/users", json=new_user("t3", global_permissions=["root"])), 403)
    assert "t3" not in [u["username"] for u in ok(admin.get("/api/_private/users"))["users"]]


def test_401(anon):
    error(anon.get("/api/_private/users"), 401)
    error(anon.put("/api/_private/users", json=new_user()), 401)
