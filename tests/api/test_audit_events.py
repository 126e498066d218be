"""Audit events (issue 12 item 5, contract section 19.1): one event per change,
written with the change, every referenced id joined in the same page, paging by
continuation and time filters."""
from datetime import timedelta

import pytest

from reinfer_clone.services import audit

from ..helpers import (
    assign, comment, error, format_utc, is_utc, label, make_dataset, make_project, make_source, make_user, ok,
    parse_utc, sync, upload,
)

QUERY = "/api/v1/audit_events/query"
TENANT = "0000000000000000"


def check_page(body: dict) -> None:
    """What the official client's audit.rs needs: every field present with its
    type, and every id an event names found in the same page."""
    for key in ("audit_events", "projects", "datasets", "tenants", "users"):
        assert isinstance(body[key], list), key
    users = {u["id"] for u in body["users"]}
    projects = {p["id"] for p in body["projects"]}
    datasets = {d["id"] for d in body["datasets"]}
    tenants = {t["id"] for t in body["tenants"]}
    for user in body["users"]:
        assert all(isinstance(user[k], str) for k in ("id", "username", "display_name", "email", "tenant_id"))
    for project in body["projects"]:
        assert all(isinstance(project[k], str) for k in ("id", "name", "tenant_id"))
    for dataset in body["datasets"]:
        assert all(isinstance(dataset[k], str) for k in ("id", "name", "project_id", "title"))
    for event in body["audit_events"]:
        assert isinstance(event["event_id"], str) and isinstance(event["event_type"], str)
        assert is_utc(event["timestamp"]), event
        assert event["actor_user_id"] in users
        assert event["actor_tenant_id"] in tenants and set(event["tenant_ids"]) <= tenants
        assert set(event["project_ids"]) <= projects, event
        assert set(event["dataset_ids"]) <= datasets, event
    assert body["tenants"] == [{"id": TENANT, "name": "default"}]


def all_events(client, **timestamp) -> list[dict]:
    events, continuation = [], None
    while True:
        body = {"filter": {"timestamp": timestamp}}
        if continuation:
            body["continuation"] = continuation
        page = ok(client.post(QUERY, json=body))
        check_page(page)
        events += page["audit_events"]
        continuation = page.get("continuation")
        if not continuation:
            return events


def types(events) -> list[str]:
    return [e["event_type"] for e in events]


def test_one_event_per_change_with_its_actor_and_objects(admin):
    project = make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    dataset = make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    before = len(all_events(admin))
    # A batch of many comments is one event, whatever its size.
    ok(upload(admin, [comment(i) for i in range(200)]))
    ok(sync(admin, [comment(i) for i in range(190, 210)]))
    ok(admin.delete("/api/v1/sources/acme/inbox/comments", query_string=[("id", "c-00001"), ("id", "c-00002")]))
    assign(admin, f"{source['id']}.c-00003", label("Billing"))
    ok(admin.put("/api/v1/datasets/acme/triage/streams", json={"stream": {"name": "s1"}}))
    ok(admin.post(f"/api/_private/quotas/{TENANT}/sources", json={"hard_limit": 50}))
    events = all_events(admin)[before:]
    # The labelling's new label creates its label def: a change of its own, in the
    # same transaction (events of one transaction share a timestamp, in no set order).
    assert types(events)[:3] == ["comments_uploaded", "comments_synced", "comments_deleted"]
    assert sorted(types(events)[3:5]) == ["label_defs_changed", "labelling_changed"]
    assert types(events)[5:] == ["stream_created", "quota_changed"]
    assert events[3]["timestamp"] == events[4]["timestamp"]
    assert {e["actor_user_id"] for e in events} == {admin.user_id}
    for event in events[:3]:
        assert event["source_ids"] == [source["id"]] and event["project_ids"] == [project["id"]]
    for event in events[3:6]:
        assert event["dataset_ids"] == [dataset["id"]] and event["project_ids"] == [project["id"]]


def test_creation_events_and_the_user_who_made_them(app, admin):
    boss = make_user(app, "boss", global_permissions=["tenant-admin"])
    project = make_project(boss, "acme")
    source = make_source(boss, "acme", "inbox")
    dataset = make_dataset(boss, "acme", "triage", source_ids=[source["id"]],
                           label_defs=[{"name": "A"}, {"name": "B"}])
    events = [e for e in all_events(admin) if e["actor_user_id"] == boss.user_id]
    # Creating a dataset with its sources and label defs is one change.
    assert [t for t in types(events) if t != "permissions_changed"] == [
        "project_created", "source_created", "dataset_created"]
    created = events[-1]
    assert created["dataset_ids"] == [dataset["id"]] and created["project_ids"] == [project["id"]]
    page = ok(admin.post(QUERY, json={"filter": {"timestamp": {}}}))
    assert {"id": boss.user_id, "username": "boss", "display_name": "boss", "email": "boss@example.org",
            "tenant_id": TENANT} in page["users"]
    # Users made outside a request (CLI, tests) are the system's doing.
    system = [e for e in page["audit_events"] if e["event_type"] == "user_created"]
    assert {e["actor_user_id"] for e in system} == {audit.SYSTEM.id}


def test_a_refused_request_writes_no_event(admin):
    make_project(admin, "acme")
    make_source(admin, "acme", "inbox")
    ok(upload(admin, [comment(1)]))
    before = all_events(admin)
    changed = comment(1, messages=[{"body": {"text": "other text"}}])
    error(upload(admin, [comment(2), changed]), 409)
    error(admin.put("/api/v1/sources/acme/inbox", json={"source": {}}), 409)
    assert all_events(admin) == before


def test_deleted_objects_still_join(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    dataset = make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    ok(admin.delete("/api/v1/datasets/acme/triage"))
    ok(admin.delete("/api/v1/sources/acme/inbox"))
    ok(admin.delete("/api/_private/projects/acme", query_string={"force": "true"}))
    events = all_events(admin)
    assert types(events)[-3:] == ["dataset_deleted", "source_deleted", "project_deleted"]
    page = ok(admin.post(QUERY, json={"filter": {"timestamp": {}}}))
    assert {"id": dataset["id"], "name": "triage", "project_id": dataset_project(page), "title": ""} \
        in page["datasets"]
    assert "acme" in [p["name"] for p in page["projects"]]


def dataset_project(page) -> str:
    return next(p["id"] for p in page["projects"] if p["name"] == "acme")


def test_paging_by_continuation(admin, monkeypatch):
    monkeypatch.setattr(audit, "PAGE_SIZE", 3)
    make_project(admin, "acme")
    for n in range(4):
        make_source(admin, "acme", f"s{n}")
        make_dataset(admin, "acme", f"d{n}")
    pages, continuation = [], None
    while True:
        body = {"filter": {"timestamp": {}}, **({"continuation": continuation} if continuation else {})}
        page = ok(admin.post(QUERY, json=body))
        check_page(page)  # each page joins its own ids
        pages.append(page["audit_events"])
        continuation = page.get("continuation")
        if not continuation:
            break
    assert all(len(p) == 3 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 3
    events = [e for p in pages for e in p]
    assert len({e["event_id"] for e in events}) == len(events)
    assert types(events).count("dataset_created") == 4 and types(events).count("source_created") == 4
    stamps = [(parse_utc(e["timestamp"]), e["event_id"]) for e in events]
    assert stamps == sorted(stamps)
    bad = error(admin.post(QUERY, json={"filter": {"timestamp": {}}, "continuation": "nonsense"}), 400)
    assert "continuation" in bad


def test_time_filters(admin):
    make_project(admin, "acme")
    for n in range(3):
        make_source(admin, "acme", f"s{n}")
    events = all_events(admin)
    stamps = sorted({parse_utc(e["timestamp"]) for e in events})
    assert len(stamps) >= 3
    middle = stamps[len(stamps) // 2]
    after = all_events(admin, minimum=format_utc(middle))
    before = all_events(admin, maximum=format_utc(middle - timedelta(microseconds=1)))
    assert after and before
    assert all(parse_utc(e["timestamp"]) >= middle for e in after)
    assert all(parse_utc(e["timestamp"]) < middle for e in before)
    assert len(after) + len(before) == len(events)
    exact = all_events(admin, minimum=format_utc(middle), maximum=format_utc(middle))
    assert exact and all(parse_utc(e["timestamp"]) == middle for e in exact)
    assert all_events(admin, minimum=format_utc(stamps[-1] + timedelta(seconds=1))) == []
    message = error(admin.post(QUERY, json={"filter": {"timestamp": {"minimum": "2026-01-01T00:00:00"}}}), 400)
    assert "minimum" in message


def test_only_tenant_admins_read_the_log(app, admin):
    make_project(admin, "acme")
    scoped = make_user(app, "scoped", projects={"acme": ["sources-read", "datasets-admin", "users-read"]})
    error(scoped.post(QUERY, json={"filter": {"timestamp": {}}}), 403)
    tenant_admin = make_user(app, "boss", global_permissions=["tenant-admin"])
    assert ok(tenant_admin.post(QUERY, json={"filter": {"timestamp": {}}}))["audit_events"]


@pytest.mark.parametrize("body", [{}, {"filter": {}}, {"filter": {"timestamp": {}}, "continuation": None},
                                  {"filter": None, "limit": None, "continuation": None},
                                  {"filter": {"timestamp": None}}])
def test_the_filter_may_be_left_out(admin, body):
    check_page(ok(admin.post(QUERY, json=body)))


def test_newer_clients_may_ask_for_a_page_size(admin):
    make_project(admin, "acme")
    for n in range(3):
        make_source(admin, "acme", f"s{n}")
    page = ok(admin.post(QUERY, json={"limit": 2}))
    check_page(page)
    assert len(page["audit_events"]) == 2 and page["continuation"]
    rest = ok(admin.post(QUERY, json={"limit": 1000, "continuation": page["continuation"]}))
    assert len(page["audit_events"]) + len(rest["audit_events"]) == len(all_events(admin))
    assert "limit" in error(admin.post(QUERY, json={"limit": 0}), 400)
    assert "limit" in error(admin.post(QUERY, json={"limit": 100000}), 400)
