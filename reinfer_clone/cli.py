"""The `reinfer-clone` command."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from .config import Config
from .db import Database


def _config(ctx) -> Config:
    return ctx.obj["config"]


@click.group()
@click.option("--database-url", envvar="REINFER_CLONE_DATABASE_URL", default=None,
              help="SQLAlchemy URL (default: SQLite file under var/).")
@click.pass_context
def main(ctx, database_url):
    """Self-hosted Communications Mining (Re:infer) compatible server."""
    overrides = {"database_url": database_url} if database_url else {}
    ctx.ensure_object(dict)
    try:
        ctx.obj["config"] = Config.from_env(**overrides)
    except ValueError as error:
        raise click.UsageError(str(error)) from None


# --- serve ---------------------------------------------------------------------------

def _bootstrap_admin(config: Config) -> None:
    from .services import auth

    with _job_session(config) as session:
        user, token = auth.ensure_admin(session, config.admin_username, config.admin_email, config.admin_token)
    if token and not config.admin_token:
        click.echo("")
        click.echo("Created the first user, an admin. Its API token (shown only once):")
        click.echo(f"    export REINFER_TOKEN={token}")
        click.echo("")
    elif token:
        click.echo(f"Admin user '{user.username}' has the token from REINFER_CLONE_ADMIN_TOKEN.")


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.option("--workers", default=None, type=int, help="gunicorn worker processes.")
@click.option("--debug", is_flag=True, help="Flask's development server instead of gunicorn.")
@click.option("--no-upgrade", is_flag=True, help="Do not migrate the database first.")
@click.pass_context
def serve(ctx, host, port, workers, debug, no_upgrade):
    """Run the HTTP server (gunicorn)."""
    from . import migrate

    config = _config(ctx)
    host = host or config.host
    port = port or config.port
    workers = workers or config.workers
    if not no_upgrade:
        migrate.upgrade(config.database_url)
    _bootstrap_admin(config)
    click.echo(f"Serving on http://{host}:{port} ({config.database_url.split('://')[0]})")
    if debug:
        from .app import create_app

        create_app(config).run(host=host, port=port, debug=True, use_reloader=False)
        return
    _run_gunicorn(config, host, port, workers)


def _run_gunicorn(config: Config, host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from .server import gunicorn_settings

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            # A gthread worker whose own refusals are JSON; limits for the contract's requests.
            for key, value in gunicorn_settings().items():
                self.cfg.set(key, value)
            self.cfg.set("timeout", 300)
            self.cfg.set("accesslog", "-")
            self.cfg.set("loglevel", config.log_level)
            # gunicorn >= 25 opens a control socket, by default under $HOME/.gunicorn;
            # only where the operator asks for one.
            if config.control_socket:
                self.cfg.set("control_socket", config.control_socket)
            else:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            from .app import create_app

            return create_app(config)

    Server().run()


# --- db ------------------------------------------------------------------------------

@main.group()
def db():
    """Database schema (Alembic)."""


@db.command()
@click.option("--revision", default="head")
@click.pass_context
def upgrade(ctx, revision):
    """Migrate the database to the latest schema."""
    from . import migrate

    migrate.upgrade(_config(ctx).database_url, revision)
    click.echo("Database is up to date.")


@db.command()
@click.argument("revision")
@click.pass_context
def downgrade(ctx, revision):
    """Migrate the database down to REVISION."""
    from . import migrate

    migrate.downgrade(_config(ctx).database_url, revision)


@db.command()
@click.pass_context
def current(ctx):
    """Show the database's schema revision."""
    from . import migrate

    migrate.current(_config(ctx).database_url)


# --- users ---------------------------------------------------------------------------

@main.group()
def users():
    """Users and their API tokens."""


@users.command("create")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--admin", is_flag=True, help="Give the global 'root' permission.")
@click.option("--project", "projects", multiple=True, help="Project to grant --permission codes on.")
@click.option("--permission", "permissions", multiple=True, help="Project permission code (repeatable).")
@click.pass_context
def create_user(ctx, username, email, admin, projects, permissions):
    """Create a user and print a new API token for it."""
    from .services import auth, users as users_service

    if permissions and not projects:
        raise click.UsageError("--permission needs at least one --project.")
    with _job_session(_config(ctx)) as session:
        user = users_service.create(
            session, username, email, ["root"] if admin else [],
            {project: list(permissions) for project in projects},
        )
        token = auth.issue_token(session, user)
    click.echo(token)


@users.command("token")
@click.argument("username")
@click.pass_context
def new_token(ctx, username):
    """Print a new API token for an existing user."""
    from sqlalchemy import select

    from .models import User
    from .services import auth

    with _job_session(_config(ctx)) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"No user named '{username}'.")
        click.echo(auth.issue_token(session, user))


# --- audit ---------------------------------------------------------------------------

@main.command("audit")
@click.option("--since", default=None, metavar="TIME",
              help="RFC 3339 time with an offset, e.g. 2026-11-29T12:00:00Z (default: all).")
@click.option("--until", default=None, metavar="TIME", help="Latest event time (inclusive).")
@click.pass_context
def audit_log(ctx, since, until):
    """Print audit events, oldest first, one JSON object a line (as the API serves them)."""
    import json

    from .schemas.fields import format_datetime, parse_datetime
    from .services import audit

    def when(option, value):
        try:
            return parse_datetime(value) if value else None
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint=option) from None

    minimum, maximum = when("--since", since), when("--until", until)
    config = _config(ctx)
    database = Database(config.database_url)
    try:
        with database.session() as session:
            continuation = None
            while True:
                page = audit.query(session, minimum, maximum, continuation, config.tenant_name)
                users = {u["id"]: u for u in page["users"]}
                projects = {p["id"]: p["name"] for p in page["projects"]}
                datasets = {d["id"]: f"{projects.get(d['project_id'], '?')}/{d['name']}" for d in page["datasets"]}
                for event in page["audit_events"]:
                    line = {**event, "timestamp": format_datetime(event["timestamp"]),
                            "actor": users[event["actor_user_id"]]["username"],
                            "projects": [projects[p] for p in event["project_ids"]],
                            "datasets": [datasets[d] for d in event["dataset_ids"]]}
                    click.echo(json.dumps(line, ensure_ascii=False))
                continuation = page["continuation"]
                if not continuation:
                    break
    finally:
        database.dispose()


# --- import-csv ----------------------------------------------------------------------

def _split_ref(ref: str) -> tuple[str, str]:
    project, sep, name = ref.partition("/")
    if not sep or not project or not name:
        raise click.BadParameter(f"'{ref}' is not PROJECT/NAME.")
    return project, name


@main.command("import-csv")
@click.argument("source_ref", metavar="PROJECT/SOURCE")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--text-column", required=True, help="Column holding the message text.")
@click.option("--id-column", default=None, help="Column of comment ids (default: row-<n>).")
@click.option("--timestamp-column", default=None, help="Column of timestamps (default: now).")
@click.option("--batch-size", default=1024, show_default=True)
@click.pass_context
def import_csv(ctx, source_ref, path, text_column, id_column, timestamp_column, batch_size):
    """Upload a CSV file as comments; other columns become typed user properties."""
    from tqdm import tqdm

    from .services import csv_import

    project, source = _split_ref(source_ref)
    with _job_session(_config(ctx)) as session, tqdm(unit="comment", disable=None) as bar:

        def set_total(rows):
            bar.total = rows
            bar.refresh()

        totals = csv_import.import_csv(
            session, project, source, path, text_column, id_column, timestamp_column,
            batch_size, progress=bar.update, on_total=set_total,
        )
    click.echo(f"new: {totals['new']}, updated: {totals['updated']}, unchanged: {totals['unchanged']}")


# --- export / import (JSONL) -----------------------------------------------------------

def _datetime_option(_ctx, param, value):
    from .wire import parse_datetime

    if value is None:
        return None
    try:
        return parse_datetime(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param=param) from None


def _progress_bar(no_progress: bool, **kwargs):
    from tqdm import tqdm

    # disable=None: shown only when stderr is a terminal.
    return tqdm(disable=True if no_progress else None, **kwargs)


@contextmanager
def _job_session(config: Config):
    """A session on the configured database for one command, committed when the
    command succeeds (the command is the unit of work: services only flush);
    service and file errors end it with a one-line message instead of a traceback."""
    from .errors import ServiceError

    database = Database(config.database_url)
    try:
        with database.session() as session:
            yield session
            session.commit()
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    except OSError as error:
        raise click.ClickException(str(error)) from None
    finally:
        database.dispose()


def _starter(bar):
    def on_start(total, done):
        bar.total = total
        bar.update(done)

    return on_start


@main.command("export")
@click.argument("dataset_ref", metavar="PROJECT/DATASET")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="JSONL file to write.")
@click.option("--predictions", is_flag=True, help="Add the latest model's predicted labels.")
@click.option("--source", "sources", multiple=True, metavar="NAME_OR_ID",
              help="Only this source of the dataset (repeatable).")
@click.option("--from", "minimum", callback=_datetime_option, metavar="DATETIME",
              help="Only comments with timestamp >= this (RFC 3339 with offset).")
@click.option("--to", "maximum", callback=_datetime_option, metavar="DATETIME",
              help="Only comments with timestamp <= this.")
@click.option("--restart", is_flag=True, help="Ignore an interrupted export's state; start over.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def export(ctx, dataset_ref, output, predictions, sources, minimum, maximum, restart, no_progress):
    """Write a dataset's comments and labellings as JSONL, as `re get comments` does.

    Reads the database directly (REINFER_CLONE_DATABASE_URL or --database-url), not
    a server. An interrupted export continues where it stopped when run again."""
    from .services import jsonl

    project, dataset = _split_ref(dataset_ref)
    with _job_session(_config(ctx)) as session, _progress_bar(no_progress, unit="comment") as bar:
        count = jsonl.export_jsonl(
            session, project, dataset, output, predictions=predictions, sources=sources,
            minimum=minimum, maximum=maximum, restart=restart,
            progress=bar.update, on_start=_starter(bar),
        )
    click.echo(f"Exported {count} comments to {output}.")


@main.command("import")
@click.argument("source_ref", metavar="PROJECT/SOURCE")
@click.option("-i", "--input", "path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSONL file to read.")
@click.option("--dataset", "dataset_ref", metavar="PROJECT/DATASET",
              help="Also write the lines' labellings to this dataset (it must contain the source).")
@click.option("--overwrite", is_flag=True, help="Update comments that exist (default: skip them).")
@click.option("--batch-size", default=128, show_default=True, type=click.IntRange(1, 4096))
@click.option("--state", "state_path", type=click.Path(dir_okay=False),
              help="Where to keep the resume state (default: INPUT.import-state).")
@click.option("--restart", is_flag=True, help="Ignore an interrupted import's state; start over.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def import_(ctx, source_ref, path, dataset_ref, overwrite, batch_size, state_path, restart, no_progress):
    """Upload comments (and labellings) from JSONL, as `re create comments` does.

    Talks to the database directly (REINFER_CLONE_DATABASE_URL or --database-url),
    not to a server; the source (and --dataset) must already exist.

    Each batch is one transaction; an interrupted import continues after the last
    committed batch when run again. `audio_path` entries are ignored."""
    from .errors import NotFound
    from .services import jsonl

    project, source = _split_ref(source_ref)
    dataset = _split_ref(dataset_ref) if dataset_ref else None
    with _job_session(_config(ctx)) as session, _progress_bar(no_progress, unit="B", unit_scale=True) as bar:
        try:
            totals = jsonl.import_jsonl(
                session, project, source, path, dataset_ref=dataset, overwrite=overwrite,
                batch_size=batch_size, state_path=state_path, restart=restart,
                progress=bar.update, on_start=_starter(bar),
            )
        except NotFound as error:
            raise click.ClickException(
                f"{error.message} This command writes to the database directly and creates no "
                f"source or dataset: create them first through the API "
                f"(PUT /api/v1/sources/{project}/{source}"
                + (f", PUT /api/v1/datasets/{dataset[0]}/{dataset[1]}" if dataset else "") + ")."
            ) from None
    click.echo(", ".join(f"{key}: {value}" for key, value in totals.items()))


# --- worker --------------------------------------------------------------------------

@main.command()
@click.option("--once", is_flag=True, help="Run the due jobs, then exit instead of polling.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between polls when idle.")
@click.pass_context
def worker(ctx, once, poll):
    """Run training jobs. Any number of workers, on any hosts, may share one database."""
    from .services import ml, training

    config = _config(ctx)
    ml.configure(config.embedding_model, config.embedding_quantize)
    database = Database(config.database_url)
    try:
        if once:
            while (job := training.run_next(database)) is not None:
                click.echo(f"job {job.id}: {job.status}"
                           + (f", version {job.model_version}" if job.model_version else "")
                           + (f" ({job.error})" if job.error else ""))
            return
        click.echo(f"Training worker {training.worker_name()} polling every {poll} s.")
        training.Worker(database, poll_seconds=poll).run_forever()
    finally:
        database.dispose()

if __name__ == "__main__":
    sys.exit(main())
