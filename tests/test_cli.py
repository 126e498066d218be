"""The `reinfer-clone` command: migrations, users, and the admin bootstrap of `serve`."""
from click.testing import CliRunner

from reinfer_clone.app import create_app
from reinfer_clone.cli import _bootstrap_admin, main
from reinfer_clone.config import Config

from .helpers import Client, error, ok


def run(url, *args):
    result = CliRunner().invoke(main, ["--database-url", url, *args], catch_exceptions=False)
    return result


def client_for(url, token):
    # No background trainer: it would outlive the test and its database.
    app = create_app(Config(database_url=url, training_worker="none"))
    return Client(app.test_client(), token)


def test_db_upgrade_then_users_create_prints_a_working_token(fresh_database_url):
    assert run(fresh_database_url, "db", "upgrade").exit_code == 0
    result = run(fresh_database_url, "users", "create", "bot", "--email", "bot@example.org",
                 "--project", "acme", "--permission", "sources-read", "--permission", "voc-readonly")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    user = ok(client_for(fresh_database_url, token).get("/auth/user"))["user"]
    assert user["username"] == "bot" and user["global_permissions"] == []
    assert user["organisation_permissions"] == {"acme": ["sources-read", "voc-readonly"]}

    admin = run(fresh_database_url, "users", "create", "boss", "--email", "boss@example.org", "--admin")
    boss = ok(client_for(fresh_database_url, admin.output.strip()).get("/auth/user"))["user"]
    assert boss["global_permissions"] == ["root"]

    again = run(fresh_database_url, "users", "create", "bot", "--email", "x@example.org")
    assert again.exit_code != 0 and "already exists" in again.output
    bad = run(fresh_database_url, "users", "create", "x", "--email", "x@example.org",
              "--project", "acme", "--permission", "fly")
    assert bad.exit_code != 0 and "'fly' is not one of" in bad.output

    second = run(fresh_database_url, "users", "token", "bot").output.strip()
    assert second != token
    ok(client_for(fresh_database_url, second).get("/auth/user"))


def test_first_start_creates_an_admin_and_prints_its_token(fresh_database_url, capsys):
    run(fresh_database_url, "db", "upgrade")
    config = Config(database_url=fresh_database_url)
    _bootstrap_admin(config)
    out = capsys.readouterr().out
    token = out.split("export REINFER_TOKEN=")[1].split()[0]
    user = ok(client_for(fresh_database_url, token).get("/auth/user"))["user"]
    assert user["global_permissions"] == ["root"]
    # Later starts create nothing and print no token.
    _bootstrap_admin(config)
    assert "REINFER_TOKEN" not in capsys.readouterr().out


def test_admin_token_from_environment(fresh_database_url, capsys):
    run(fresh_database_url, "db", "upgrade")
    config = Config(database_url=fresh_database_url, admin_token="ci-secret-token-123")
    _bootstrap_admin(config)
    _bootstrap_admin(config)  # idempotent
    client = client_for(fresh_database_url, "ci-secret-token-123")
    user = ok(client.get("/auth/user"))["user"]
    assert user["username"] == "admin" and user["global_permissions"] == ["root"]
    assert len(ok(client.get("/api/_private/users"))["users"]) == 1
    # A different configured token is added to the same admin.
    _bootstrap_admin(Config(database_url=fresh_database_url, admin_token="rotated-token-456"))
    ok(client_for(fresh_database_url, "rotated-token-456").get("/auth/user"))
    error(client_for(fresh_database_url, "never-issued").get("/auth/user"), 401)


def test_audit_prints_events_since_a_time(fresh_database_url):
    import json
    from datetime import datetime, timedelta, timezone

    assert run(fresh_database_url, "db", "upgrade").exit_code == 0
    token = run(fresh_database_url, "users", "create", "boss", "--email", "boss@example.org", "--admin").output.strip()
    client = client_for(fresh_database_url, token)
    ok(client.put("/api/_private/projects/acme", json={"project": {}}))
    ok(client.put("/api/v1/sources/acme/inbox", json={"source": {}}))

    result = run(fresh_database_url, "audit")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    assert [e["event_type"] for e in events] == ["user_created", "token_created", "project_created",
                                                 "source_created"]
    assert [e["actor"] for e in events] == ["system", "system", "boss", "boss"]
    assert events[2]["projects"] == ["acme"] and events[3]["projects"] == ["acme"]

    since = events[2]["timestamp"]
    later = [json.loads(line) for line in run(fresh_database_url, "audit", "--since", since).output.splitlines()]
    assert [e["event_type"] for e in later] == ["project_created", "source_created"]
    future = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run(fresh_database_url, "audit", "--since", future).output == ""
    bad = run(fresh_database_url, "audit", "--since", "yesterday")
    assert bad.exit_code != 0 and "--since" in bad.output
