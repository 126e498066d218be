"""Quotas (issue 12 item 6, contract section 19.2): the client's shapes, limits
set by admins, and writes refused whole, also under concurrent writers."""
import threading

from reinfer_clone.services.quotas import DEFAULT_LIMITS, KINDS, UNLIMITED

from ..helpers import (
    Client, comment, error, iterate_comments, make_dataset, make_project, make_source, make_user, ok, sync, upload,
)

TENANT = "0000000000000000"
QUOTAS = "/api/_private/quotas"
AUDIT = "/api/v1/audit_events/query"


def quotas(client) -> dict:
    body = ok(client.get(QUOTAS))
    for quota in body["quotas"]:
        # quota.rs: hard_limit and current_max_usage are 32-bit integers, always present.
        assert type(quota["hard_limit"]) is int and 0 <= quota["hard_limit"] <= UNLIMITED
        assert type(quota["current_max_usage"]) is int and quota["current_max_usage"] >= 0
    return {q["quota_kind"]: q for q in body["quotas"]}


def set_quota(client, kind, hard_limit, **extra):
    return client.post(f"{QUOTAS}/{TENANT}/{kind}", json={"hard_limit": hard_limit, **extra})


def test_every_kind_is_reported_with_its_usage(admin):
    found = quotas(admin)
    assert list(found) == list(KINDS)
    assert found["labels_per_dataset"]["hard_limit"] == DEFAULT_LIMITS["labels_per_dataset"]
    assert {k for k, q in found.items() if q["hard_limit"] != UNLIMITED} == set(DEFAULT_LIMITS)
    make_project(admin, "acme")
    first = make_source(admin, "acme", "inbox")
    second = make_source(admin, "acme", "other")
    make_dataset(admin, "acme", "triage", source_ids=[first["id"], second["id"]],
                 label_defs=[{"name": "A"}, {"name": "B"}, {"name": "C"}])
    ok(upload(admin, [comment(i) for i in range(5)]))
    ok(upload(admin, [comment(i) for i in range(2)], source="other"))
    found = quotas(admin)
    usage = {k: q["current_max_usage"] for k, q in found.items()}
    assert usage["sources"] == 2 and usage["datasets"] == 1 and usage["projects"] == 1
    assert usage["comments"] == 7 and usage["comments_per_source"] == 5
    assert usage["sources_per_dataset"] == 2 and usage["datasets_per_source"] == 1
    assert usage["labels_per_dataset"] == 3 and usage["users"] == 1 and usage["integrations"] == 0
    assert ok(admin.get(f"{QUOTAS}/{TENANT}"))["quotas"] == list(found.values())


def test_setting_a_quota(app, admin):
    assert ok(set_quota(admin, "sources", 10, auto_increase_up_to=20)) == {"status": "ok"}
    assert quotas(admin)["sources"] == {"quota_kind": "sources", "hard_limit": 10, "current_max_usage": 0,
                                        "auto_increase_up_to": 20}
    ok(set_quota(admin, "sources", 12))
    assert quotas(admin)["sources"]["hard_limit"] == 12
    assert "'wormholes'" in error(set_quota(admin, "wormholes", 1), 400)
    assert "hard_limit" in error(set_quota(admin, "sources", -1), 400)
    assert "hard_limit" in error(set_quota(admin, "sources", 2**31), 400)
    assert "hard_limit" in error(admin.post(f"{QUOTAS}/{TENANT}/sources", json={}), 400)
    error(set_quota(admin, "sources", "5"), 400)
    error(admin.post(f"{QUOTAS}/1111111111111111/sources", json={"hard_limit": 1}), 404)
    error(admin.get(f"{QUOTAS}/1111111111111111"), 404)
    # Setting needs root or tenant-admin; reading needs only a token.
    scoped = make_user(app, "scoped", projects={"acme": ["sources-admin", "datasets-admin"]})
    error(set_quota(scoped, "sources", 1000), 403)
    assert quotas(scoped)["sources"]["hard_limit"] == 12
    boss = make_user(app, "boss", global_permissions=["tenant-admin"])
    ok(set_quota(boss, "sources", 3))
    assert quotas(admin)["sources"]["hard_limit"] == 3


def test_a_batch_that_would_cross_the_limit_is_refused_whole(admin):
    make_project(admin, "acme")
    make_source(admin, "acme", "inbox")
    ok(set_quota(admin, "comments_per_source", 5))
    ok(upload(admin, [comment(i) for i in range(3)]))
    events = len(ok(admin.post(AUDIT, json={}))["audit_events"])
    message = error(upload(admin, [comment(i) for i in range(3, 6)]), 422)
    assert "comments_per_source" in message and "5" in message
    assert [c["id"] for c in iterate_comments(admin)] == [f"c-{i:05d}" for i in range(3)]
    assert len(ok(admin.post(AUDIT, json={}))["audit_events"]) == events  # no event either
    # Resending comments already stored adds nothing and is not refused; up to the limit is fine.
    ok(upload(admin, [comment(i) for i in range(5)]))
    assert quotas(admin)["comments_per_source"]["current_max_usage"] == 5
    # Another source has its own count; the tenant-wide kind counts all.
    make_source(admin, "acme", "other")
    ok(upload(admin, [comment(i) for i in range(5)], source="other"))
    ok(set_quota(admin, "comments_per_source", 100))
    ok(set_quota(admin, "comments", 11))
    ok(sync(admin, [comment(20)], source="other"))
    assert "'comments'" in error(sync(admin, [comment(21), comment(22)], source="other"), 422)
    assert quotas(admin)["comments"]["current_max_usage"] == 11


def test_object_quotas(admin):
    make_project(admin, "acme")
    ok(set_quota(admin, "sources", 1))
    make_source(admin, "acme", "inbox")
    assert "'sources'" in error(admin.put("/api/v1/sources/acme/second", json={"source": {}}), 422)
    assert [s["name"] for s in ok(admin.get("/api/v1/sources"))["sources"]] == ["inbox"]
    ok(set_quota(admin, "labels_per_dataset", 2))
    message = error(admin.put("/api/v1/datasets/acme/triage", json={"dataset": {
        "label_defs": [{"name": "A"}, {"name": "B"}, {"name": "C"}]}}), 422)
    assert "labels_per_dataset" in message
    assert ok(admin.get("/api/v1/datasets"))["datasets"] == []
    make_dataset(admin, "acme", "triage", label_defs=[{"name": "A"}, {"name": "B"}])
    ok(set_quota(admin, "triggers_per_dataset", 1))
    ok(admin.put("/api/v1/datasets/acme/triage/streams", json={"stream": {"name": "s1"}}))
    assert "triggers_per_dataset" in error(
        admin.put("/api/v1/datasets/acme/triage/streams", json={"stream": {"name": "s2"}}), 422)
    ok(set_quota(admin, "projects", 1))
    assert "'projects'" in error(admin.put("/api/_private/projects/beta", json={"project": {}}), 422)


def _race(app, admin, n, request) -> list[int]:
    """n threads, each with its own client, sending `request(client, i)` at once."""
    start = threading.Barrier(n)
    statuses = [None] * n

    def run(i):
        client = Client(app.test_client(), admin.token, admin.user_id)
        start.wait()
        statuses[i] = request(client, i).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return statuses


def test_concurrent_uploads_never_cross_the_limit(app, admin):
    make_project(admin, "acme")
    make_source(admin, "acme", "inbox")
    ok(set_quota(admin, "comments", 25))
    # 8 writers of 10 new comments each: at most two batches fit.
    statuses = _race(app, admin, 8, lambda c, i: upload(c, [comment(100 * i + k) for k in range(10)]))
    assert sorted(statuses) == [200, 200] + [422] * 6
    stored = iterate_comments(admin)
    assert len(stored) == 20
    # Whole batches only.
    assert sorted({int(c["id"][2:]) // 100 for c in stored}) == sorted(
        i for i, status in enumerate(statuses) if status == 200)
    assert quotas(admin)["comments"]["current_max_usage"] == 20


def test_concurrent_creates_never_cross_the_limit(app, admin):
    make_project(admin, "acme")
    ok(set_quota(admin, "sources", 3))
    statuses = _race(app, admin, 8, lambda c, i: c.put(f"/api/v1/sources/acme/s{i}", json={"source": {}}))
    assert statuses.count(200) == 3 and statuses.count(422) == 5
    assert len(ok(admin.get("/api/v1/sources"))["sources"]) == 3
    events = ok(admin.post(AUDIT, json={}))["audit_events"]
    assert [e["event_type"] for e in events].count("source_created") == 3
