"""The Alembic history builds exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from reinfer_clone import migrate
from reinfer_clone.db import Base, Database
from reinfer_clone.services.search import include_name, is_index_table


def _drift(url):
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
            return compare_metadata(context, Base.metadata)
    finally:
        database.dispose()


def _tables(url, models_only=False):
    database = Database(url)
    try:
        names = set(inspect(database.engine).get_table_names())
        # The keyword index's tables are made by raw SQL, not from models.
        return {t for t in names if not is_index_table(t)} if models_only else names
    finally:
        database.dispose()


def test_migrations_match_models(fresh_database_url):
    assert _tables(fresh_database_url) == set()
    migrate.upgrade(fresh_database_url)
    expected = {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}
    assert _tables(fresh_database_url, models_only=True) == expected
    assert _drift(fresh_database_url) == []


def test_downgrade_to_base_and_back(fresh_database_url):
    migrate.upgrade(fresh_database_url)
    migrate.downgrade(fresh_database_url, "base")
    assert _tables(fresh_database_url) == {"alembic_version"}
    migrate.upgrade(fresh_database_url)
    assert _drift(fresh_database_url) == []
