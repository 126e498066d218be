"""The application factory."""
from __future__ import annotations

import logging

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from . import api, web
from .api import ratelimit
from .api.support import DB_EXTENSION, json_bytes
from .config import Config
from .db import Database
from .services import ml, training


class StrictJSONProvider(DefaultJSONProvider):
    """Every answer through `json_bytes`: one encoder, one policy (NaN and
    Infinity are not JSON and break the client: refused)."""

    sort_keys = False
    compact = True

    def dumps(self, obj, **kwargs):
        return json_bytes(obj).decode()


def create_app(config: Config | None = None, database: Database | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__)
    app.json = StrictJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = config.max_content_length
    app.extensions["reinfer_clone.config"] = config
    app.extensions[DB_EXTENSION] = database or Database(config.database_url)
    # Werkzeug decodes %2F before routing, so `project%2Fname` matches `<project>/<name>`.
    app.url_map.strict_slashes = False
    ratelimit.init(app, config.rate_limit, config.rate_limit_storage)
    api.register(app)
    # The web interface: static files, a pure client of the API above.
    app.register_blueprint(web.bp)
    if not app.debug:
        level = getattr(logging, config.log_level.upper(), logging.INFO)
        logging.basicConfig(level=level)
        if level > logging.DEBUG:
            # faiss logs at INFO which instruction-set build it loaded, including a
            # "Could not load library with AVX2 support" that reads like an error.
            logging.getLogger("faiss.loader").setLevel(logging.WARNING)
            # Alembic's "Context impl ..." lines on every /readyz probe.
            logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    ml.configure(config.embedding_model, config.embedding_quantize)
    if config.training_worker == "thread":
        _start_training_thread(app.extensions[DB_EXTENSION])
    return app


_training_thread = None


def _start_training_thread(database: Database) -> None:
    """One background trainer per process (each gunicorn worker has one; claims
    are exclusive, so they never run the same job)."""
    global _training_thread
    if _training_thread is None or not _training_thread.is_alive():
        _training_thread = training.Worker(database).start_thread()

