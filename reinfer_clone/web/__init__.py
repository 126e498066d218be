"""The web interface: static files only. Every byte of data the pages show comes
from the public API, called by the browser with the user's own token, so this
blueprint needs no token and serves nothing but the application shell.

Assets live under `/ui/static/<version>/...`, where `version` is a hash of the
files' contents: they can then be cached for a year (`immutable`), and the ES
modules' relative imports inherit the versioned path. The shell itself is
revalidated on every load, so a new deploy is picked up at once.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Response, abort, request, send_from_directory

STATIC = Path(__file__).resolve().parent / "static"
ASSET_MAX_AGE = 365 * 24 * 3600

bp = Blueprint("ui", __name__)


def _version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


VERSION = _version()
# Every module, announced up front: the browser fetches them in parallel instead of
# discovering the import graph one level per round trip.
PRELOADS = "\n".join(
    f'<link rel="modulepreload" href="/ui/static/{VERSION}/{p.relative_to(STATIC).as_posix()}">'
    for p in sorted(STATIC.rglob("*.js")))


def _shell() -> Response:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    html = html.replace("{{preloads}}", PRELOADS).replace("{{version}}", VERSION)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(VERSION)
    return response.make_conditional(request)


@bp.get("/")
def index():
    return _shell()


@bp.get("/ui")
@bp.get("/ui/<path:_page>")
def page(_page=""):
    # Client-side routes (`/ui/<project>/<dataset>/explore`, ...) all load the shell.
    return _shell()


@bp.get("/ui/static/<version>/<path:filename>")
def asset(version, filename):
    if version != VERSION:
        # An old shell asking for a file that changed since: make it reload.
        abort(404)
    response = send_from_directory(STATIC, filename, max_age=ASSET_MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
