"""`/healthz` and `/readyz`: probes for load balancers, answered without a token."""
from reinfer_clone import migrate
from reinfer_clone.app import create_app
from reinfer_clone.config import Config
from reinfer_clone.db import Database

from ..helpers import Client, error, ok


def test_healthz_needs_no_token(anon):
    assert ok(anon.get("/healthz")) == {"status": "ok"}


def test_readyz_on_a_migrated_database(anon):
    body = ok(anon.get("/readyz"))
    assert body["database"] == "ok"
    assert body["migrations"]["current"] == body["migrations"]["head"] == list(migrate.head_revisions())


def test_a_bad_token_does_not_matter_but_other_routes_still_need_one(app):
    stranger = Client(app.test_client(), "not-a-token")
    ok(stranger.get("/healthz"))
    ok(stranger.get("/readyz"))
    error(Client(app.test_client(), None).get("/api/v1/sources"), 401)


def test_readyz_is_503_until_the_database_is_at_head(fresh_database_url):
    database = Database(fresh_database_url)
    try:
        app = create_app(Config(database_url=fresh_database_url, training_worker="none"), database=database)
        anon = Client(app.test_client(), None)
        ok(anon.get("/healthz"))  # the process is up even though the schema is not

        response = anon.get("/readyz")
        assert "no revision" in error(response, 503) and "reinfer-clone db upgrade" in error(response, 503)
        assert response.get_json()["migrations"] == {"current": [], "head": list(migrate.head_revisions())}

        migrate.upgrade(fresh_database_url, "0005")
        response = anon.get("/readyz")
        assert "at 0005" in error(response, 503)
        assert response.get_json()["migrations"]["current"] == ["0005"]

        migrate.upgrade(fresh_database_url)
        assert ok(anon.get("/readyz"))["migrations"]["current"] == list(migrate.head_revisions())
    finally:
        database.dispose()


def test_readyz_is_503_when_the_database_is_unreachable():
    url = "postgresql://nobody@127.0.0.1:1/nothing"  # nothing listens on port 1
    database = Database(url)
    try:
        app = create_app(Config(database_url=url, training_worker="none"), database=database)
        anon = Client(app.test_client(), None)
        ok(anon.get("/healthz"))
        assert error(anon.get("/readyz"), 503).startswith("The database is unavailable:")
    finally:
        database.dispose()
