"""What every handler uses: the request's session and principal, body loading,
the success envelope and the permission decorators."""
from __future__ import annotations

import json
import math
from datetime import datetime
from functools import wraps

import orjson
from flask import current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import InvalidInput
from ..schemas import json_input
from ..schemas.fields import describe, parse_flag
from ..wire import format_datetime
from ..services import auth, datasets, sources
from ..services.permissions import Principal

DB_EXTENSION = "reinfer_clone.db"


def db():
    """The request's SQLAlchemy session (closed, and rolled back if open, at teardown)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[DB_EXTENSION].session()
    return g.db_session


def unit_of_work(view):
    """One transaction per request: services only flush, and the request commits
    once its view has answered without error. An error (raised, or an answer of
    400 and above) commits nothing: the session rolls back when it closes."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = current_app.make_response(view(*args, **kwargs))
        session = g.get("db_session")
        if session is not None and response.status_code < 400:
            session.commit()
        return response

    return wrapper


def bearer_token() -> str | None:
    """The request's bearer token, or None when there is no well-formed one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def request_user(token: str | None):
    """The user owning `token`, looked up once per request (the rate limiter
    asks first, then authentication)."""
    if "token_user" not in g or g.token_user[0] != token:
        g.token_user = (token, auth.authenticate(db(), token) if token else None)
    return g.token_user[1]


def principal() -> Principal:
    return g.principal


def config():
    return current_app.extensions["reinfer_clone.config"]


def ok(**payload):
    return jsonify({"status": "ok", **payload})


def json_default(value):
    """What the JSON encoders (the app's and `ok_page`'s) do with values JSON
    has no type for. Flask's default would write an RFC 822 date; the client
    wants RFC 3339 with an offset."""
    if isinstance(value, datetime):
        return format_datetime(value)
    return DefaultJSONProvider.default(value)


_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def json_bytes(value, newline: bool = False) -> bytes:
    """Every JSON answer's encoder (the app's provider, `ok_page`, `ok_items`):
    orjson, about ten times faster than the standard library, with one policy
    for numbers JSON lacks. NaN and Infinity break the client, so they are
    refused (ValueError) rather than written as the `null` orjson would write."""
    try:
        body = orjson.dumps(value, default=json_default,
                            option=_JSON_OPTIONS | orjson.OPT_APPEND_NEWLINE if newline else _JSON_OPTIONS)
    except TypeError:
        # What orjson cannot write (an integer beyond 64 bits echoed in an error,
        # a lone surrogate): the standard library, under the same NaN policy.
        text = json.dumps(value, default=json_default, allow_nan=False, separators=(",", ":"))
        return (text + "\n" if newline else text).encode()
    # orjson writes non-finite floats as null: only a body with a null can hide one.
    if b"null" in body and _has_non_finite(value):
        raise ValueError("Out of range float values are not JSON compliant.")
    return body


def _has_non_finite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(v) for v in value)
    return False


def ok_page(**payload):
    """`ok` for pages of stored comments (export, iteration) and other large answers."""
    body = json_bytes({"status": "ok", **payload}, newline=True)
    return current_app.response_class(body, mimetype="application/json")


def ok_items(key: str, items, **payload):
    """`ok(**payload, key=[...items])`, each item encoded as it comes: only one
    item's Python objects are alive at a time, and the answer is held as bytes
    (a large prediction answer as objects took ten times its encoded size).
    An error raised by `items` still becomes the error envelope: nothing has
    been sent yet."""
    head = json_bytes({"status": "ok", **payload})
    parts = [head[:-1], b",", json_bytes(key), b":["]
    for i, item in enumerate(items):
        if i:
            parts.append(b",")
        parts.append(json_bytes(item))
    parts.append(b"]}\n")
    response = current_app.response_class(parts, mimetype="application/json")
    response.content_length = sum(map(len, parts))
    return response


def validation_error(error: ValidationError) -> InvalidInput:
    return InvalidInput("Invalid request: " + describe(error), errors=error.messages)


def request_body() -> bytes:
    """The raw body; 413 when a body without Content-Length (chunked) is larger
    than the limit, which Werkzeug would silently cut at the limit instead."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if (limit is not None and request.content_length is None and len(data) >= limit
            and request.environ["wsgi.input"].read(1)):
        raise RequestEntityTooLarge()
    return data


def json_body():
    """The request body as JSON, whatever the content type; 400 if malformed or
    if it breaks a rule of `schemas.json_input` (depth, numbers, strings)."""
    if "json_body" not in g:
        data = request_body()
        g.json_body = json_input.loads(data) if data else {}
    return g.json_body


def load(schema, data=None) -> dict:
    """Load and validate the JSON body (or `data`) with a marshmallow schema."""
    data = json_body() if data is None else data
    if not isinstance(data, dict):
        raise InvalidInput("Invalid request: the body must be a JSON object.")
    try:
        return schema.load(data)
    except ValidationError as error:
        raise validation_error(error) from None


def query_flag(name: str, default: bool = False) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    flag = parse_flag(value)
    if flag is not None:
        return flag
    raise InvalidInput(f"Invalid query parameter '{name}': '{value}' is not true or false.")


def readable_dataset(project: str, name: str, with_labels: bool = True):
    """A dataset whose comments the route returns: besides the permission on the
    dataset's project, that needs sources-read on each source's project."""
    dataset = datasets.get_by_name(db(), project, name, with_labels)
    require_sources_read(dataset.source_ids)
    return dataset


def require_sources_read(source_ids) -> None:
    """Reading comments (or counting them by their content) needs sources-read on
    the project that owns each of their sources."""
    for owner in sorted(sources.owners(db(), source_ids)):
        principal().require("sources-read", owner)


def requires(code: str):
    """The caller needs `code` on the project named by the `project` path argument."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal().require(code, kwargs["project"])
            return view(*args, **kwargs)

        # For the OpenAPI document (api/spec.py): every code checked, outermost first.
        wrapper.required_permissions = (code, *getattr(view, "required_permissions", ()))
        return wrapper

    return decorator


def requires_tenant_admin(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        principal().require_tenant_admin()
        return view(*args, **kwargs)

    wrapper.requires_tenant_admin = True  # for the OpenAPI document
    return wrapper
