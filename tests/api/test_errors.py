"""The JSON envelope on every failure path, and authentication on every route."""
import re

import pytest

from reinfer_clone.api.spec import is_public

from ..helpers import error, make_project, ok


def test_unknown_route_is_json_404(admin, anon):
    assert "Not found" in error(admin.get("/api/v1/nothing-here"), 404)
    error(anon.get("/no/such/route"), 404)


def test_wrong_method_is_json_405_with_allow_header(admin):
    response = admin.request("PATCH", "/api/v1/sources")
    error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_oversized_body_is_json_413(admin, config):
    make_project(admin)
    big = "x" * (config.max_content_length + 1)
    response = admin.put("/api/v1/sources/acme/inbox", json={"source": {"title": big}})
    assert "too large" in error(response, 413)
    assert ok(admin.get("/api/v1/sources"))["sources"] == []


def test_malformed_json_is_400(admin):
    make_project(admin)
    response = admin.put(
        "/api/v1/sources/acme/inbox", data="{not json", headers={"Content-Type": "text/plain"}
    )
    assert "not valid JSON" in error(response, 400)
    response = admin.put("/api/v1/sources/acme/inbox", json=[1, 2])
    assert "JSON object" in error(response, 400)


def test_body_without_content_type_is_parsed(admin):
    make_project(admin)
    response = admin.put("/api/v1/sources/acme/inbox", data='{"source": {"title": "T"}}')
    assert ok(response)["source"]["title"] == "T"


def test_unexpected_exception_is_json_500_without_traceback(app, admin):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = admin.get("/boom")
    message = error(response, 500)
    assert message == "Internal server error."
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_nan_is_never_emitted(app):
    with app.app_context():
        with pytest.raises(ValueError):
            app.json.dumps({"x": float("nan")})


def test_out_of_scope_routes_say_so(admin):
    message = error(admin.get("/api/_private/integrations"), 404)
    assert message == "Not supported by this server."


def _concrete(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "x", rule.rule)


def test_every_route_needs_a_token(app, anon):
    """No route answers anything but 401 to a request without a valid token."""
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        # Public by design, and marked so: the API description and the health checks
        # (`@doc(public=True)`), and the web interface's files, which hold no data.
        if is_public(app.view_functions[rule.endpoint]) or rule.endpoint.startswith("ui."):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = _concrete(rule)
            assert anon.request(method, path).status_code == 401, (method, path)
            bad = anon.request(method, path, headers={"Authorization": "Bearer wrong"})
            assert bad.status_code == 401, (method, path)
            checked += 1
    assert checked > 30
