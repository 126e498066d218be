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
    writer = make_user(app, "writer", projects={"acme": ["users-write", "voc"]})
    # Anyone reads themselves; reading others needs users-read, and a user one
    # may not see answers like an unknown one.
    assert ok(plain.get(f"/api/_private/users/{plain.user_id}"))["user"]["username"] == "plain"
    error(plain.get("/api/_private/users"), 403)
    error(plain.get(f"/api/_private/users/{reader.user_id}"), 404)
    assert [u["username"] for u in ok(reader.get("/api/_private/users"))["users"]] == [
        "plain", "reader", "writer"]
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


def _codes(admin, user_id):
    return ok(admin.get(f"/api/_private/users/{user_id}"))["user"]


def test_a_project_scoped_writer_cannot_delete_users(app, admin):
    """Issue 11, case 1: users-write on `other` deleted the root admin."""
    writer = make_user(app, "writer", projects={"other": ["users-write"]})
    victim = make_user(app, "victim", projects={"other": ["sources-read"]})
    error(writer.delete(f"/api/_private/users/{admin.user_id}"), 404)
    error(writer.delete(f"/api/_private/users/{victim.user_id}"), 403)
    ok(admin.get("/auth/user"))
    assert {u["username"] for u in ok(admin.get("/api/_private/users"))["users"]} == {
        "admin", "writer", "victim"}
    # Tenant admins delete users, but not a root user; root may, but never the last root.
    tenant = make_user(app, "tenant", global_permissions=["tenant-admin"])
    error(tenant.delete(f"/api/_private/users/{admin.user_id}"), 403)
    assert "last root" in error(admin.delete(f"/api/_private/users/{admin.user_id}"), 409)
    assert ok(tenant.delete(f"/api/_private/users/{victim.user_id}")) == {"status": "ok"}
    error(admin.get(f"/api/_private/users/{victim.user_id}"), 404)


def test_a_scoped_writer_changes_only_its_projects_codes(app, admin):
    """Issue 11, case 2: `{"other": [...]}` wiped the victim's `acme` codes, `{}` removed
    everything, and the writer could grant itself every code on `other`."""
    writer = make_user(app, "writer", projects={"other": ["users-write", "sources-read"]})
    victim = make_user(app, "victim", projects={"acme": ["voc", "sources-read"],
                                                 "other": ["voc-readonly"]})
    url = f"/api/_private/users/{victim.user_id}"
    changed = ok(writer.post(url, json={"user": {"organisation_permissions": {"other": ["sources-read"]}}}))
    # The writer sees only the projects it manages; acme's codes are untouched.
    assert changed["user"]["organisation_permissions"] == {"other": ["sources-read"]}
    assert _codes(admin, victim.user_id)["organisation_permissions"] == {
        "acme": ["sources-read", "voc"], "other": ["sources-read"]}
    # Naming a project the writer does not manage is refused, and nothing changes.
    error(writer.post(url, json={"user": {"organisation_permissions": {"acme": []}}}), 403)
    assert _codes(admin, victim.user_id)["organisation_permissions"] == {
        "acme": ["sources-read", "voc"], "other": ["sources-read"]}
    ok(writer.post(url, json={"user": {"organisation_permissions": {}}}))
    assert _codes(admin, victim.user_id)["organisation_permissions"] == {"acme": ["sources-read", "voc"]}
    # The victim now shares no project with the writer: it is out of its reach.
    error(writer.post(url, json={"user": {"organisation_permissions": {"other": []}}}), 404)
    # Nobody grants a code they lack, themselves included.
    own = f"/api/_private/users/{writer.user_id}"
    message = error(writer.post(own, json={"user": {"organisation_permissions": {
        "other": ["users-write", "sources-read", "datasets-admin"]}}}), 403)
    assert "datasets-admin" in message
    assert _codes(admin, writer.user_id)["organisation_permissions"] == {
        "other": ["sources-read", "users-write"]}
    error(writer.put("/api/_private/users", json=new_user(
        "new", organisation_permissions={"other": ["model-admin"]})), 403)


def test_user_listings_are_scoped(app, admin):
    """Issue 11, case 3: users-read on one project listed every user with every project."""
    reader = make_user(app, "reader", projects={"acme": ["users-read"]})
    make_user(app, "colleague", projects={"acme": ["voc"], "secret": ["voc", "sources-read"]})
    stranger = make_user(app, "stranger", projects={"secret": ["voc"]})
    listed = {u["username"]: u for u in ok(reader.get("/api/_private/users"))["users"]}
    assert set(listed) == {"reader", "colleague"}
    assert listed["colleague"]["organisation_permissions"] == {"acme": ["voc"]}
    assert ok(reader.get("/api/v1/users"))["users"] == list(listed.values())
    error(reader.get(f"/api/_private/users/{stranger.user_id}"), 404)
    error(reader.get("/api/_private/users/0123456789abcdef"), 404)
    # Tenant admins and root see everyone with every project.
    tenant = make_user(app, "tenant", global_permissions=["tenant-admin"])
    everyone = {u["username"]: u for u in ok(tenant.get("/api/_private/users"))["users"]}
    assert set(everyone) == {"admin", "reader", "colleague", "stranger", "tenant"}
    assert everyone["colleague"]["organisation_permissions"] == {
        "acme": ["voc"], "secret": ["sources-read", "voc"]}


def test_global_permissions_update(app, admin):
    """Issue 11, case 7: updating global_permissions answered 500, even as root."""
    user = make_user(app, "kim")
    url = f"/api/_private/users/{user.user_id}"
    updated = ok(admin.post(url, json={"user": {"global_permissions": ["tenant-admin", "debug"]}}))
    assert updated["user"]["global_permissions"] == ["debug", "tenant-admin"]
    assert _codes(admin, user.user_id)["global_permissions"] == ["debug", "tenant-admin"]
    tenant = make_user(app, "tenant", global_permissions=["tenant-admin"])
    ok(tenant.post(url, json={"user": {"global_permissions": ["debug"]}}))
    error(tenant.post(url, json={"user": {"global_permissions": ["root"]}}), 403)
    error(tenant.post(f"/api/_private/users/{admin.user_id}", json={"user": {"global_permissions": []}}), 403)
    assert _codes(admin, admin.user_id)["global_permissions"] == ["root"]
    assert _codes(admin, user.user_id)["global_permissions"] == ["debug"]


def test_401(anon):
    error(anon.get("/api/_private/users"), 401)
    error(anon.put("/api/_private/users", json=new_user()), 401)
