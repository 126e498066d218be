"""Test fixtures: every test gets an app on an empty database.

The backend is chosen per run with `--backend sqlite|postgresql` (the Makefile
runs both). The schema is built once per run by the real Alembic migrations and
emptied before each test, which is what a fresh database looks like to the API
and far cheaper than creating one per test.
"""
from __future__ import annotations

import os
import secrets

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from reinfer_clone import migrate
from reinfer_clone.app import create_app
from reinfer_clone.config import Config
from reinfer_clone.db import Base, Database, normalize_url
from reinfer_clone.services import ml

from .helpers import Client, make_user

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        default=os.environ.get("REINFER_CLONE_TEST_BACKEND", "sqlite"),
        choices=("sqlite", "postgresql"),
        help="database backend for this run",
    )


def pytest_report_header(config):
    return f"database backend: {config.getoption('--backend')}"


def _postgres_admin_url() -> str:
    return normalize_url(os.environ.get("REINFER_CLONE_TEST_PG_URL", DEFAULT_PG_URL))


def _create_postgres_database() -> tuple[str, callable]:
    admin_url = _postgres_admin_url()
    name = f"reinfer_test_{os.getpid()}_{secrets.token_hex(3)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001  (any failure to reach the server)
        engine.dispose()
        message = f"PostgreSQL is not reachable at {admin_url}: {error}"
        if os.environ.get("CI") == "true":
            pytest.exit("CI requires the PostgreSQL run. " + message, returncode=3)
        pytest.exit("Skipping the PostgreSQL run. " + message, returncode=0)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop():
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return url, drop


@pytest.fixture(scope="session")
def backend(pytestconfig) -> str:
    return pytestconfig.getoption("--backend")


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        url = f"sqlite:///{path}"
        drop = None
    else:
        url, drop = _create_postgres_database()
    migrate.upgrade(url)
    yield url
    if drop:
        drop()


@pytest.fixture(scope="session")
def database(database_url):
    db = Database(database_url)
    yield db
    db.dispose()


def empty_database(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def config(database_url) -> Config:
    # Training runs only where a test asks for it, never in a background thread.
    # No rate limit: tests are never throttled by accident (tests/api/test_rate_limits.py sets one).
    return Config(database_url=database_url, max_content_length=1024 * 1024, training_worker="none",
                  retrain_delay=-1, rate_limit="0")


@pytest.fixture
def app(config, database):
    empty_database(database)
    ml.forget_models()  # version row keys restart with the emptied database
    app = create_app(config, database=database)
    app.config["TESTING"] = True
    yield app


@pytest.fixture
def session(app, database):
    with database.session() as s:
        yield s


@pytest.fixture
def anon(app) -> Client:
    return Client(app.test_client(), None)


@pytest.fixture
def admin(app) -> Client:
    return make_user(app, "admin", global_permissions=["root"])


@pytest.fixture
def fresh_database_url(backend, tmp_path):
    """An empty database with no schema at all, for migration and CLI tests."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    url, drop = _create_postgres_database()
    yield url
    drop()
