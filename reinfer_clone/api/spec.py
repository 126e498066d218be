"""The OpenAPI 3 document, derived from the URL map and from what each view
declares with `@doc` (request body, query string, response payload) and with
`@requires` (its permission). Nothing here lists routes: a route without a
declaration shows up as undocumented in the URL-map test."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema as _MarshmallowSchema
from marshmallow import fields

from ..schemas.fields import Schema, openapi_attributes

OPENAPI_VERSION = "3.0.3"
DOCUMENTED_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
ATTRIBUTE = "openapi"
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def doc(body=None, response=None, query=None, permission=None, status=200, public=False,
        media_type="application/json", unsupported=False, multipart=None, envelope=True):
    """Describe a view for the OpenAPI document; the view itself is unchanged.

    body: the marshmallow Schema class of the JSON request body.
    query: a Schema class, or a dict of name -> field, for the query string.
    response: the payload beside `"status": "ok"`: a dict of name -> Schema
        class (a nested object), [Schema class] (a list of them) or a field.
    permission: for views that check it themselves (not with `@requires`): the
        code and the project it is checked on, as one sentence.
    media_type: of a success answer that is not the JSON envelope.
    multipart: the name of a file field, for multipart/form-data uploads.
    envelope: False for a JSON answer that is not the envelope (the document itself).
    """
    info = {"body": body, "response": response or {}, "query": query, "permission": permission,
            "status": status, "public": public, "media_type": media_type,
            "unsupported": unsupported, "multipart": multipart, "envelope": envelope}

    def decorator(view):
        # Stacked decorators made with functools.wraps copy this attribute outwards.
        setattr(view, ATTRIBUTE, info)
        return view

    return decorator


def declared(view, endpoint: str | None = None) -> dict | None:
    info = getattr(view, ATTRIBUTE, None)
    if info is None and endpoint == "static":
        info = _FLASK_STATIC  # Flask's own route: its view is made inside Flask
    return info


_FLASK_STATIC = doc(media_type="application/octet-stream",
                    permission="Any valid token.")(lambda: None).openapi


def permissions_of(view) -> list[str]:
    """The codes `@requires` checks on the path's project, outermost first."""
    return list(getattr(view, "required_permissions", ()))


def is_public(view) -> bool:
    info = declared(view)
    return bool(info and info["public"])


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\1}", rule)


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


class ErrorEnvelope(Schema):
    """Every 4xx/5xx answer."""

    status = fields.String(required=True, metadata={"enum": ["error"]})
    message = fields.String(required=True, metadata={"description": "Names the field and the rule."})
    field = fields.String(metadata={"description": "The offending field, when there is one."})
    errors = fields.Raw(metadata={"description": "Validation messages by field path."})


def _payload_field(value):
    if isinstance(value, fields.Field):
        return value
    if isinstance(value, list):
        (item,) = value
        return fields.List(_payload_field(item), required=True)
    if isinstance(value, type) and issubclass(value, _MarshmallowSchema):
        return fields.Nested(value, required=True)
    raise TypeError(f"cannot describe {value!r} in a response")


def _query_schema(query):
    if query is None or (isinstance(query, type) and issubclass(query, _MarshmallowSchema)):
        return query
    return Schema.from_dict(dict(query), name="Query")


def _schema_name_resolver():
    names: dict[str, type] = {}

    def resolve(schema):
        cls = schema if isinstance(schema, type) else type(schema)
        name = cls.__name__
        if name.endswith("Schema") and len(name) > len("Schema"):
            name = name[: -len("Schema")]
        if names.setdefault(name, cls) is not cls:
            # Two modules define a schema of this name (e.g. LabelThreshold).
            name = _camel(cls.__module__.rsplit(".", 1)[-1]) + name
            names.setdefault(name, cls)
        return name

    return resolve


def _permission_text(view, info) -> tuple[str, list[str]]:
    codes = permissions_of(view)
    if info.get("public"):
        return "None: no token needed.", []
    if info.get("unsupported"):
        return "Any valid token; the route always answers 404 (not supported by this server).", []
    if codes:
        listed = " and ".join(f"`{c}`" for c in codes)
        return f"{listed} on the project named in the path.", codes
    if getattr(view, "requires_tenant_admin", False):
        return "`root` or `tenant-admin` (global).", ["tenant-admin"]
    text = info.get("permission")
    found = re.findall(r"`([a-z-]+)`", text or "")
    return text, found


def build_spec(app) -> dict:
    """The OpenAPI document of `app`'s URL map, as a dict."""
    plugin = MarshmallowPlugin(schema_name_resolver=_schema_name_resolver())
    spec = APISpec(
        title="reinfer-clone",
        version="1",
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={"description": (
            "Self-hosted server speaking the Communications Mining (Re:infer) REST API. Every "
            "answer is JSON: `{\"status\": \"ok\", ...}` on success, `{\"status\": \"error\", "
            "\"message\": ...}` otherwise. Every route except this document and /api/docs needs "
            "`Authorization: Bearer <token>`; `x-permission` names the permission codes checked.")},
    )
    plugin.converter.add_attribute_function(openapi_attributes)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("ErrorEnvelope", schema=ErrorEnvelope)
    error = {"description": "The error envelope.",
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
    envelopes: dict[str, str] = {}
    paths: dict[str, dict] = {}
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        info = declared(view, rule.endpoint)
        if info is None:
            continue  # undocumented: the URL-map test names it
        path = openapi_path(rule.rule)
        arguments = [m.group(1) for m in _CONVERTER.finditer(rule.rule)]
        methods = sorted(m for m in rule.methods if m in DOCUMENTED_METHODS)
        for method in methods:
            operation = _operation(spec, rule, view, info, method, arguments, envelopes, error)
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["security"] = [{"bearer": []}]
    return document


def _operation(spec, rule, view, info, method, arguments, envelopes, error) -> dict:
    text, codes = _permission_text(view, info)
    summary = (view.__doc__ or "").strip().split("\n")[0] or rule.endpoint.replace("_", " ")
    operation = {
        "operationId": f"{rule.endpoint}.{method.lower()}:{rule.rule}",
        "summary": summary,
        "description": f"Permission: {text}",
        "tags": [rule.endpoint.split(".")[0]],
        "x-permission": codes,
        "parameters": [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in arguments
        ],
        "responses": {"default": error},
    }
    if info["public"]:
        operation["security"] = []
    query = _query_schema(info["query"])
    if query is not None:
        operation["parameters"].append({"in": "query", "schema": query})
    if info["unsupported"]:
        operation["responses"] = {"404": error, "default": error}
        return operation
    if info["body"] is not None and method in ("PUT", "POST", "PATCH"):
        operation["requestBody"] = {"required": False,
                                    "content": {"application/json": {"schema": info["body"]}}}
    if info["multipart"]:
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": [info["multipart"]],
            "properties": {info["multipart"]: {"type": "string", "format": "binary"}}}}}}
    statuses = info["status"] if isinstance(info["status"], (list, tuple)) else [info["status"]]
    if not info["envelope"]:
        content = {info["media_type"]: {"schema": {"type": "object"}}}
    elif info["media_type"] != "application/json":
        content = {info["media_type"]: {"schema": {"type": "string", "format": "binary"}
                                        if "octet" in info["media_type"] else {"type": "string"}}}
    else:
        name = envelopes.get(rule.endpoint)
        if name is None:
            name = envelopes[rule.endpoint] = _camel(rule.endpoint) + "Response"
            payload = {key: _payload_field(value) for key, value in info["response"].items()}
            status_field = fields.String(required=True, metadata={"enum": ["ok"]})
            spec.components.schema(name, schema=Schema.from_dict({"status": status_field, **payload},
                                                                 name=name))
        content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
    for status in statuses:
        operation["responses"][str(status)] = {"description": "Success.", "content": content}
    return operation
