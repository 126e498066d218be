"""Alembic environment: the URL comes from the config the runner built
(`reinfer_clone.migrate`), the target schema from our models (for autogenerate).

Migrations never import services: history must not change with live code."""
from alembic import context
from sqlalchemy import engine_from_config, pool

import reinfer_clone.models  # noqa: F401  (registers every table)
from reinfer_clone.db import Base

# The keyword index's tables (migration 0006 makes them by raw SQL, FTS5 adds
# shadow tables `comment_fts_*`) are not models: autogenerate leaves them alone.
INDEX_TABLES = ("comment_search", "comment_fts")


def include_name(name, type_, _parent_names) -> bool:
    return not (type_ == "table" and any(name == t or name.startswith(t + "_") for t in INDEX_TABLES))

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        # Batch mode lets later migrations alter tables on SQLite too.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
