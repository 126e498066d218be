"""The application factory."""
from __future__ import annotations

import logging

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from . import api
from .api.support import DB_EXTENSION
from .config import Config
from .db import Database


class StrictJSONProvider(DefaultJSONProvider):
    """NaN and Infinity are not JSON and break the client: refuse to emit them."""

    sort_keys = False
    compact = True

    def dumps(self, obj, **kwargs):
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)


def create_app(config: Config | None = None, database: Database | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__)
    app.json = StrictJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = config.max_content_length
    app.extensions["reinfer_clone.config"] = config
    app.extensions[DB_EXTENSION] = database or Database(config.database_url)
    # Werkzeug decodes %2F before routing, so `project%2Fname` matches `<project>/<name>`.
    app.url_map.strict_slashes = False
    api.register(app)
    if not app.debug:
        logging.basicConfig(level=getattr(logging, config.log_level.upper(), logging.INFO))
    return app

