"""The web interface's files: served without a token, cacheable, self-contained
(nothing fetched from elsewhere), and no hole in the API's authentication."""
from __future__ import annotations

import re

import pytest

from reinfer_clone import web

from ..helpers import error

ASSET_RE = re.compile(r'/ui/static/([0-9a-f]{12})/([a-z/]+\.(?:js|css))')
IMPORT_RE = re.compile(r"""(?:import|from)\s+['"]([^'"]+)['"]""")


@pytest.mark.parametrize("path", ["/", "/ui", "/ui/", "/ui/acme/triage/explore", "/ui/acme/triage/validate"])
def test_every_page_path_serves_the_shell_without_a_token(anon, path):
    response = anon.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert {m.group(1) for m in ASSET_RE.finditer(html)} == {web.VERSION}
    assert f'<script type="module" src="/ui/static/{web.VERSION}/app.js">' in html
    assert f'<link rel="stylesheet" href="/ui/static/{web.VERSION}/style.css">' in html
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/ui/static/[0-9a-f]{12}/([^"]+)">', html))
    assert preloaded == {p.relative_to(web.STATIC).as_posix() for p in web.STATIC.rglob("*.js")}


def test_the_shell_revalidates_by_etag(anon):
    etag = anon.get("/").headers["ETag"]
    assert anon.get("/", headers={"If-None-Match": etag}).status_code == 304


def test_assets_are_cached_for_a_year_under_their_version(anon):
    response = anon.get(f"/ui/static/{web.VERSION}/app.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "import" in response.get_data(as_text=True)
    assert anon.get(f"/ui/static/{web.VERSION}/pages/explore.js").status_code == 200


def test_an_outdated_or_unknown_asset_is_a_json_404(anon):
    assert "Not found" in error(anon.get("/ui/static/000000000000/app.js"), 404)
    error(anon.get(f"/ui/static/{web.VERSION}/nothing.js"), 404)
    error(anon.get(f"/ui/static/{web.VERSION}/../__init__.py"), 404)


def test_the_api_still_needs_a_token(anon):
    assert "Missing API token" in error(anon.get("/api/v1/datasets"), 401)
    assert "Missing API token" in error(anon.get("/auth/user"), 401)


def test_modules_import_only_local_files_that_exist_and_fetch_nothing_remote():
    files = [p for p in web.STATIC.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".html", ".js", ".css"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        # Offline: no CDN, font or script from another origin (the SVG namespace is a name, not a fetch).
        remote = [u for u in re.findall(r"https?://[^\s'\"`)]+", text) if u != "http://www.w3.org/2000/svg"]
        assert remote == [], (path.name, remote)
        if path.suffix == ".js":
            for target in IMPORT_RE.findall(text):
                assert target.startswith("."), (path.name, target)
                assert (path.parent / target).resolve().is_file(), (path.name, target)
