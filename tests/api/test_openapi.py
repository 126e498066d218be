"""The published OpenAPI document (/api/openapi.json) and reference page (/api/docs):
served without a token, and complete: every rule of the URL map is in it with
its permission, request and response schemas."""
from __future__ import annotations

import inspect
import re

import pytest

from reinfer_clone.api.spec import DOCUMENTED_METHODS, openapi_path

from ..helpers import ok

LOADED_BODY = re.compile(r"\bload\((\w+)\(\)\)")
LOADED_QUERY = re.compile(r"\bload\((\w+)\(\), data=request\.args")


@pytest.fixture
def document(anon):
    response = anon.get("/api/openapi.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def _operations(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("ui."):
            continue  # the web interface's files are pages, not API routes (docs/openapi.md)
        for method in sorted(rule.methods & set(DOCUMENTED_METHODS)):
            yield rule, method


def test_document_is_openapi_3_with_both_envelopes(document):
    assert document["openapi"].startswith("3.")
    schemas = document["components"]["schemas"]
    assert sorted(schemas["ErrorEnvelope"]["required"]) == ["message", "status"]
    assert schemas["ErrorEnvelope"]["properties"]["status"]["enum"] == ["error"]
    source = schemas["SourcesGetSourceResponse"]
    assert source["properties"]["status"]["enum"] == ["ok"]
    assert source["properties"]["source"] == {"$ref": "#/components/schemas/Source"}
    # The custom fields map to proper types.
    assert schemas["Source"]["properties"]["created_at"] == {"type": "string", "format": "date-time"}
    assert document["security"] == [{"bearer": []}]


def test_every_url_map_rule_is_documented(app, document):
    missing, incomplete = [], []
    for rule, method in _operations(app):
        operation = document["paths"].get(openapi_path(rule.rule), {}).get(method.lower())
        if operation is None:
            missing.append(f"{method} {rule.rule}")
            continue
        view = app.view_functions[rule.endpoint]
        source = inspect.getsource(inspect.unwrap(view))
        problems = []
        if not operation["description"].startswith("Permission: ") or operation["description"].endswith("None"):
            problems.append("no permission")
        if "x-permission" not in operation:
            problems.append("no x-permission")
        if operation["responses"]["default"]["content"]["application/json"]["schema"] != {
                "$ref": "#/components/schemas/ErrorEnvelope"}:
            problems.append("no error envelope")
        success = [s for s in operation["responses"] if s != "default"]
        if not success or not all(operation["responses"][s].get("content") for s in success):
            problems.append("no response schema")
        for schema_name in LOADED_BODY.findall(source):
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            if body.get("schema") != {"$ref": f"#/components/schemas/{schema_name}"}:
                problems.append(f"request body is not {schema_name}")
        if LOADED_QUERY.search(source) or "request.args" in source or "query_flag(" in source:
            if not any(p["in"] == "query" for p in operation["parameters"]):
                problems.append("no query parameters")
        path_params = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        if path_params != set(rule.arguments):
            problems.append(f"path parameters {sorted(path_params)} != {sorted(rule.arguments)}")
        if problems:
            incomplete.append(f"{method} {rule.rule}: {', '.join(problems)}")
    assert not missing, f"routes missing from the OpenAPI document: {missing}"
    assert not incomplete, incomplete


def test_permissions_come_from_the_views(document):
    source = document["paths"]["/api/v1/sources/{project}/{name}"]
    assert source["put"]["x-permission"] == ["sources-admin"]
    assert source["get"]["x-permission"] == ["sources-read"]
    query = document["paths"]["/api/_private/datasets/{project}/{name}/query"]["post"]
    assert query["x-permission"] == ["voc-readonly", "sources-read"]
    assert document["paths"]["/api/_private/projects/{project}"]["put"]["x-permission"] == ["tenant-admin"]
    by_id = document["paths"]["/api/v1/sources/id:{source_id}"]["delete"]
    assert by_id["x-permission"] == ["sources-admin"]
    assert "source's project" in by_id["description"]
    assert document["paths"]["/api/openapi.json"]["get"]["security"] == []


def test_request_and_query_schemas(document):
    create = document["paths"]["/api/v1/sources/{project}/{name}"]["put"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewSourceRequest"}
    listing = document["paths"]["/api/v1/sources/{project}/{name}/comments"]["get"]
    query = {p["name"]: p for p in listing["parameters"] if p["in"] == "query"}
    assert query["limit"]["schema"]["type"] == "integer"
    assert query["from_timestamp"]["schema"] == {"type": "string", "format": "date-time"}
    assert query["include_markup"]["schema"]["type"] == "boolean"
    deleting = document["paths"]["/api/v1/sources/{project}/{name}/comments"]["delete"]
    ids = next(p for p in deleting["parameters"] if p["name"] == "id")
    assert ids["schema"] == {"type": "array", "items": {"type": "string"}}


def test_served_document_is_valid_for_schemathesis(document):
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(ops) for ops in document["paths"].values())


def test_reference_page_lists_every_route(anon, document):
    response = anon.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for path in document["paths"]:
        assert f"<code>{path}</code>" in page
    assert 'id="schema-NewSourceRequest"' in page
    assert "sources-admin" in page


def test_document_needs_no_token_but_other_routes_still_do(anon):
    assert anon.get("/api/openapi.json").status_code == 200
    assert anon.get("/api/v1/sources").status_code == 401


def test_documented_response_matches_an_answer(admin, document):
    """A spot check of one envelope against the document (the schemathesis run checks them all)."""
    body = ok(admin.put("/api/_private/projects/acme", json={"project": {"title": "ACME"}}))
    properties = document["components"]["schemas"]["ProjectsCreateProjectResponse"]["properties"]
    assert set(body) == set(properties)
