from pathlib import Path

from sqlalchemy import select

from reinfer_clone.db import Base

from ..helpers import HEX_RE, error, is_utc, make_user, ok

USER_KEYS = {
    "id", "username", "email", "created", "global_permissions",
    "organisation_permissions", "sso_global_permissions", "verified",
}


def test_current_user(app):
    client = make_user(app, "ops-bot", projects={"acme": ["voc-readonly", "sources-read"]})
    user = ok(client.get("/auth/user"))["user"]
    assert set(user) == USER_KEYS
    assert HEX_RE.match(user["id"]) and user["id"] == client.user_id
    assert user["username"] == "ops-bot" and user["email"] == "ops-bot@example.org"
    assert is_utc(user["created"])
    assert user["global_permissions"] == [] and user["sso_global_permissions"] == []
    assert user["organisation_permissions"] == {"acme": ["sources-read", "voc-readonly"]}
    assert user["verified"] is True


def test_refresh_user_permissions(admin):
    body = ok(admin.post("/auth/refresh-user-permissions", json={}))
    assert body == {"status": "ok", "permissions_refreshed": True}


def test_missing_malformed_and_unknown_tokens_are_401(anon, admin):
    assert "Missing" in error(anon.get("/auth/user"), 401)
    assert "Malformed" in error(anon.get("/auth/user", headers={"Authorization": "Basic abc"}), 401)
    assert "Malformed" in error(anon.get("/auth/user", headers={"Authorization": "Bearer "}), 401)
    error(anon.get("/auth/user", headers={"Authorization": f"Bearer {admin.token}x"}), 401)
    error(anon.post("/auth/refresh-user-permissions", json={}), 401)


def test_deleted_user_token_stops_working(app, admin):
    other = make_user(app, "temp")
    ok(other.get("/auth/user"))
    ok(admin.delete(f"/api/_private/users/{other.user_id}"))
    error(other.get("/auth/user"), 401)


def _all_stored_text(database) -> str:
    """Every value of every table, as text."""
    chunks = []
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_tokens_are_stored_only_hashed(app, database, admin, backend):
    client = make_user(app, "someone")
    ok(client.get("/auth/user"))
    stored = _all_stored_text(database)
    assert client.token not in stored and admin.token not in stored
    if backend == "sqlite":
        path = Path(database.engine.url.database)
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                raw = file.read_bytes()
                assert client.token.encode() not in raw and admin.token.encode() not in raw
    # The digest is there instead, so the test above looked in the right place.
    from reinfer_clone.services.auth import hash_token

    assert hash_token(client.token) in stored
