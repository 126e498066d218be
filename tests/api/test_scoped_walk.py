"""Every route of the URL map, called by a user who holds every code on another
project: none may answer 2xx for project `acme`'s objects, and nothing of acme's
may change (issue 11).

A new route must be classified here: either its arguments can be filled with
acme's objects (ARGUMENTS), or it is listed in NOT_PROJECT_SCOPED with the reason
it answers without a project permission. The test fails on an unclassified rule,
so a route cannot be added without deciding who may call it."""
import io
import re

import pytest

from ..helpers import (
    assign, comment, label, make_bucket, make_dataset, make_project, make_source, make_user, ok, sync,
    train_tiny_model,
)
from reinfer_clone.services.permissions import PROJECT_CODES

# Rules that are not about one project's objects, with what they answer a scoped user.
NOT_PROJECT_SCOPED = {
    "/auth/user": "the caller itself",
    "/auth/refresh-user-permissions": "the caller itself",
    "/api/_private/users": "scoped listing, checked in test_users",
    "/api/v1/users": "scoped listing, checked in test_users",
    "/api/_private/users/<user_id>": "users are checked in test_users",
    "/api/_private/users/<user_id>/welcome-email": "users are checked in test_users",
    "/api/_private/projects": "lists only visible projects (checked below)",
    "/api/v1/sources": "lists only visible sources (checked below)",
    "/api/v1/datasets": "lists only visible datasets (checked below)",
    "/api/_private/buckets": "lists only visible buckets (checked below)",
    "/v2/models": "lists only visible models (checked below)",
    "/static/<path:filename>": "static files",
    "/": "the web interface's shell (no data)",
}
# Prefixes of routes that are the tenant's, not a project's (audit log, quotas,
# documentation, health, the web interface's files) or unsupported (always 4xx).
NOT_PROJECT_SCOPED_PREFIXES = (
    "/api/_private/quotas", "/api/v1/audit_events", "/api/_private/integrations", "/api/_private/ixp",
    "/api/openapi", "/api/docs", "/healthz", "/readyz", "/ui", "/assets",
)


@pytest.fixture
def acme(app, admin):
    make_project(admin, "acme")
    make_project(admin, "other")
    source = make_source(admin, "acme", "inbox", sensitive_properties=["secret"])
    bucket = make_bucket(admin, "acme", "mail")
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]], has_sentiment=True)
    ok(sync(admin, [comment(1)]))
    assign(admin, f"{source['id']}.c-00001", label("Billing"))
    version = train_tiny_model(admin, source["id"])
    ok(admin.put("/api/v1/datasets/acme/triage/streams",
                 json={"stream": {"name": "s1", "model": {"version": version, "label_thresholds": []}}}))
    ok(admin.put(f"/api/_private/sources/id:{source['id']}/comments/c-00001/attachments/0",
                 data={"file": (io.BytesIO(b"pdf"), "a.pdf")}, content_type="multipart/form-data"))
    job = ok(admin.post("/api/v1/datasets/acme/triage/train", json={}), 202)
    model_id = ok(admin.get("/v2/models"))["models"][0]["id"]
    dataset_id = ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["id"]
    return {
        "source": source, "bucket": bucket, "dataset_id": dataset_id, "version": version,
        "model_id": model_id, "job_id": (job.get("job") or {}).get("id", "0"),
    }


def _arguments(rule: str, objects: dict) -> dict:
    sid = objects["source"]["id"]
    if "/sources/" in rule or "/comments" in rule:
        name = "inbox"
    elif "/buckets/" in rule:
        name = "mail"
    else:
        name = "triage"
    return {
        "project": "acme", "name": name, "source_id": sid, "bucket_id": objects["bucket"]["id"],
        "dataset_id": objects["dataset_id"], "comment_id": "c-00001", "uid": f"{sid}.c-00001",
        "version": str(objects["version"]), "tag": "live", "stream": "s1", "group": "default",
        "index": "0", "reference": f"{sid}.c-00001.0", "model_id": str(objects["model_id"]),
        "job_id": str(objects["job_id"]), "rest": "x",
    }


def _url(rule, objects) -> str:
    values = _arguments(rule.rule, objects)
    missing = [a for a in rule.arguments if a not in values]
    assert not missing, f"{rule.rule}: teach test_scoped_walk how to fill {missing}"
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule)


def _bodies(method: str, objects: dict) -> list:
    # An empty body and a plausible one: a permission check must not depend on the body.
    if method in ("GET", "DELETE"):
        return [None]
    return [{}, {"texts": ["hello"], "documents": [{"messages": [{"body": {"text": "hi"}}]}],
                 "labelling": [{"group": "default", "assigned": [label("Stolen")]}],
                 "comments": [comment(7)], "filter": {}, "order": {"kind": "recent"}, "version": 1,
                 "source": {"title": "taken"}, "dataset": {"title": "taken"}, "bucket": {},
                 "stream": {"name": "s2"}, "label_defs": [{"name": "Stolen"}], "wait": True,
                 "model_ids": [objects["model_id"]], "name": "Billing",
                 "new_name": "Stolen"}]


def _snapshot(admin, objects) -> dict:
    sid = objects["source"]["id"]
    return {
        "sources": ok(admin.get("/api/v1/sources/acme"))["sources"],
        "dataset": ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"],
        "comments": ok(admin.get("/api/v1/sources/acme/inbox/comments", query_string={"limit": 100}))["comments"],
        "labellings": ok(admin.get("/api/_private/datasets/acme/triage/labellings",
                                   query_string={"source_id": sid, "limit": 100}))["results"],
        "streams": ok(admin.get("/api/v1/datasets/acme/triage/streams"))["streams"],
        "tags": ok(admin.get("/api/v1/datasets/acme/triage/model-tags"))["model_tags"],
        "buckets": ok(admin.get(f"/api/_private/buckets/id:{objects['bucket']['id']}"))["bucket"],
    }


def test_a_user_of_another_project_reaches_nothing_of_acme(app, admin, acme):
    outsider = make_user(app, "outsider", projects={"other": list(PROJECT_CODES)})
    before = _snapshot(admin, acme)
    walked = []
    for rule in app.url_map.iter_rules():
        if rule.rule in NOT_PROJECT_SCOPED or rule.rule.startswith(NOT_PROJECT_SCOPED_PREFIXES):
            continue
        url = _url(rule, acme)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for body in _bodies(method, acme):
                response = outsider.request(method, url, json=body)
                assert not 200 <= response.status_code < 300, (method, url, body, response.get_data(as_text=True))
                assert response.is_json, (method, url, response.get_data(as_text=True)[:200])
                walked.append((method, rule.rule))
    assert len(walked) > 80
    assert _snapshot(admin, acme) == before
    # List routes answer 200 but show nothing of acme.
    assert ok(outsider.get("/api/v1/sources"))["sources"] == []
    assert ok(outsider.get("/api/v1/datasets"))["datasets"] == []
    assert ok(outsider.get("/api/_private/buckets"))["buckets"] == []
    assert ok(outsider.get("/v2/models"))["models"] == []
    assert [p["name"] for p in ok(outsider.get("/api/_private/projects"))["projects"]] == ["other"]


def test_unknown_and_forbidden_ids_answer_alike(app, admin, acme):
    """Issue 11, case 6: `id:` routes and /v2/models/<n> told existing ids (403) from
    unknown ones (404)."""
    outsider = make_user(app, "outsider", projects={"other": list(PROJECT_CODES)})
    sid, bid, did = acme["source"]["id"], acme["bucket"]["id"], acme["dataset_id"]
    unknown = "0123456789abcdef"
    pairs = [
        ("GET", "/api/v1/sources/id:{}"), ("DELETE", "/api/v1/sources/id:{}"),
        ("GET", "/api/v1/datasets/id:{}"), ("DELETE", "/api/v1/datasets/id:{}"),
        ("GET", "/api/_private/buckets/id:{}"), ("DELETE", "/api/_private/buckets/id:{}"),
        ("GET", "/api/v1/attachments/{}.c-00001.0"),
    ]
    for method, template in pairs:
        known = bid if "buckets" in template else did if "datasets" in template else sid
        answers = {ident: outsider.request(method, template.format(ident)) for ident in (known, unknown)}
        assert [a.status_code for a in answers.values()] == [404, 404], (method, template)
        # The message names the id asked for, nothing else.
        messages = {a.get_json()["message"].replace(ident, "<id>") for ident, a in answers.items()}
        assert len(messages) == 1, (method, template, messages)
    texts = {"texts": ["hello"]}
    answers = [outsider.post(f"/v2/models/{m}/inference", json=texts) for m in (acme["model_id"], 999999)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].get_json()["message"] == f"Model {acme['model_id']} not found."
    # A user with a code on acme still learns that it lacks the right one (403).
    reader = make_user(app, "reader", projects={"acme": ["sources-read"]})
    assert reader.delete(f"/api/v1/sources/id:{sid}").status_code == 403
    assert reader.post(f"/v2/models/{acme['model_id']}/inference", json=texts).status_code == 403
