"""The published API description: the OpenAPI document and a reference page
generated from it (self-contained HTML, no scripts or remote assets)."""
from __future__ import annotations

import json
from html import escape

from flask import Blueprint, current_app, jsonify

from .spec import build_spec, doc

bp = Blueprint("reference", __name__, url_prefix="/api")
EXTENSION = "reinfer_clone.openapi"


def document() -> dict:
    """The app's document, built once per process (the URL map is fixed after start-up)."""
    spec = current_app.extensions.get(EXTENSION)
    if spec is None:
        spec = current_app.extensions[EXTENSION] = build_spec(current_app)
    return spec


@bp.get("/openapi.json")
@doc(public=True, envelope=False)
def openapi_json():
    """The OpenAPI 3 document of this server."""
    return jsonify(document())


@bp.get("/docs")
@doc(public=True, media_type="text/html")
def reference_page():
    """A human-readable reference generated from the OpenAPI document."""
    return current_app.response_class(render(document()), mimetype="text/html")


def _ref_name(schema: dict | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    return escape(json.dumps(schema, sort_keys=True))


def _schema_cell(content: dict | None) -> str:
    if not content:
        return ""
    return "<br>".join(f"{escape(media)}: {_ref_name(body.get('schema'))}"
                       for media, body in content.items())


def render(spec: dict) -> str:
    rows = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            query = ", ".join(escape(p["name"]) for p in op.get("parameters", []) if p["in"] == "query")
            success = {k: v for k, v in op["responses"].items() if k != "default"}
            responses = "<br>".join(f"{escape(status)} {_schema_cell(r.get('content'))}"
                                    for status, r in success.items())
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                f"<td>{escape(op.get('summary', ''))}</td>"
                f"<td>{escape(op.get('description', '').removeprefix('Permission: '))}</td>"
                f"<td>{query}</td><td>{_schema_cell(op.get('requestBody', {}).get('content'))}</td>"
                f"<td>{responses}</td></tr>"
            )
    schemas = []
    for name, schema in sorted(spec["components"]["schemas"].items()):
        required = set(schema.get("required", []))
        props = "".join(
            f"<tr><td><code>{escape(prop)}</code>{' *' if prop in required else ''}</td>"
            f"<td>{_ref_name(value)}</td></tr>"
            for prop, value in schema.get("properties", {}).items()
        )
        schemas.append(f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>'
                       f"<table><tr><th>field (* required)</th><th>type</th></tr>{props}</table>")
    info = spec["info"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(info['title'])} API reference</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }}
code {{ white-space: nowrap; }}
</style></head><body>
<h1>{escape(info['title'])} API reference</h1>
<p>{escape(info.get('description', ''))}</p>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI {escape(spec['openapi'])}).
Every error is <a href="#schema-ErrorEnvelope">ErrorEnvelope</a>.</p>
<h2>Routes</h2>
<table><tr><th>method</th><th>path</th><th>summary</th><th>permission</th><th>query</th>
<th>request body</th><th>success</th></tr>
{''.join(rows)}
</table>
<h2>Schemas</h2>
{''.join(schemas)}
</body></html>
"""
