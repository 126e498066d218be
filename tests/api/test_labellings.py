import pytest

from ..helpers import comment, error, label, make_dataset, make_project, make_source, make_user, ok, sync

BASE = "/api/_private/datasets/acme/triage/labellings"


@pytest.fixture
def setup(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    dataset = make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    ok(sync(admin, [comment(i) for i in range(5)] + [comment(9, id="a.b/c")]))
    return source, dataset


def write(client, uid, **body):
    return client.post(f"{BASE}/{uid}", json=body)


def test_write_returns_annotated_comment_and_creates_label_defs(admin, setup):
    source, _ = setup
    uid = f"{source['id']}.c-00001"
    body = ok(write(admin, uid, labelling=[{"group": "default", "assigned": [label("Billing > Refund", "negative")],
                                            "dismissed": [label("Card")]}]))
    assert body["comment"]["uid"] == uid and body["comment"]["has_annotations"] is True
    assert body["labelling"] == [{"group": "default", "assigned": [label("Billing > Refund", "negative")],
                                  "dismissed": [label("Card")]}]
    assert "entities" not in body
    names = [d["name"] for d in ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["label_defs"]]
    assert names == ["Billing", "Billing > Refund", "Card"]
    # The comment itself now says it is annotated.
    assert ok(admin.get("/api/v1/sources/acme/inbox/comments/c-00001"))["comment"]["has_annotations"] is True
    assert ok(admin.get("/api/v1/sources/acme/inbox/comments/c-00002"))["comment"]["has_annotations"] is False


def test_groups_entities_and_forms_replace_only_what_is_given(admin, setup):
    source, _ = setup
    uid = f"{source['id']}.a.b/c"
    ok(write(admin, uid, labelling=[{"group": "default", "assigned": [label("A")]}]))
    entities = {"assigned": [{"name": "ent", "formatted_value": "x", "spans": []}], "dismissed": []}
    body = ok(write(admin, uid, entities=entities, moon_forms=[{"group": "g", "assigned": []}]))
    assert body["labelling"] == [{"group": "default", "assigned": [label("A")], "dismissed": []}]
    assert body["entities"] == entities and body["moon_forms"] == [{"group": "g", "assigned": []}]
    body = ok(write(admin, uid, labelling=[{"group": "default", "assigned": []}]))
    assert body["labelling"] == [{"group": "default", "assigned": [], "dismissed": []}]
    assert body["comment"]["has_annotations"] is True  # the entities still count


def test_read_by_ids_and_bulk_reviewed(admin, setup):
    source, _ = setup
    sid = source["id"]
    for i in (3, 1, 4):
        ok(write(admin, f"{sid}.c-{i:05d}", labelling=[{"group": "default", "assigned": [label(f"L{i}")]}]))
    body = ok(admin.get(BASE, query_string=[("id", f"{sid}.c-00004"), ("id", f"{sid}.c-00000"),
                                            ("id", f"{sid}.nope")]))
    assert [r["comment"]["id"] for r in body["results"]] == ["c-00004", "c-00000"]
    assert body["results"][0]["labelling"][0]["assigned"] == [label("L4")]
    assert "labelling" not in body["results"][1]
    seen, after = [], None
    for _ in range(10):
        query = {"source_id": sid, "limit": 2, **({"after": after} if after else {})}
        page = ok(admin.get(BASE, query_string=query))
        if not page["results"]:
            break
        assert page["after"] != after
        after = page["after"]
        seen.extend(r["comment"]["id"] for r in page["results"])
    assert seen == ["c-00003", "c-00001", "c-00004"]


def test_sync_update_keeps_labellings(admin, setup):
    source, _ = setup
    uid = f"{source['id']}.c-00002"
    ok(write(admin, uid, labelling=[{"group": "default", "assigned": [label("Keep")]}]))
    body = ok(sync(admin, [comment(2, thread_id="edited")]))
    assert body["updated"] == 1
    result = ok(admin.get(BASE, query_string={"id": uid}))["results"][0]
    assert result["comment"]["thread_id"] == "edited"
    assert result["labelling"][0]["assigned"] == [label("Keep")]


def test_errors(app, admin, setup):
    source, _ = setup
    sid = source["id"]
    assert "sentiment" in error(write(admin, f"{sid}.c-00001", labelling=[
        {"group": "default", "assigned": [{"name": "A", "sentiment": "meh"}]}]), 400)
    assert "labelling.0.assigned.0.name" in error(write(admin, f"{sid}.c-00001", labelling=[
        {"assigned": [{"sentiment": "positive"}]}]), 400)
    error(write(admin, f"{sid}.missing", labelling=[]), 404)
    error(write(admin, "0123456789abcdef.c-00001", labelling=[]), 400)
    error(write(admin, "no-dot", labelling=[]), 400)
    error(admin.post("/api/_private/datasets/acme/ghost/labellings/x.y", json={}), 404)
    make_source(admin, "acme", "other")
    error(admin.get(BASE, query_string={"source_id": "0123456789abcdef"}), 400)
    error(admin.get(BASE, query_string={"source_id": sid, "after": "junk"}), 400)
    assert ok(admin.get(f"{BASE}", query_string={"source_id": sid}))["results"] == []


def test_permissions(app, admin, setup):
    source, _ = setup
    uid = f"{source['id']}.c-00001"
    make_project(admin, "other")
    reviewer = make_user(app, "reviewer", projects={"acme": ["datasets-review", "voc-readonly", "sources-read"]})
    reader = make_user(app, "reader", projects={"acme": ["voc-readonly", "sources-read"]})
    no_sources = make_user(app, "nosrc", projects={"acme": ["voc-readonly"]})
    outsider = make_user(app, "outsider", projects={"other": ["datasets-review", "voc-readonly", "sources-read"]})
    ok(write(reviewer, uid, labelling=[{"group": "default", "assigned": [label("A")]}]))
    ok(reader.get(BASE, query_string={"id": uid}))
    error(write(reader, uid, labelling=[]), 403)
    error(no_sources.get(BASE, query_string={"id": uid}), 403)
    error(write(outsider, uid, labelling=[]), 403)
    error(outsider.get(BASE, query_string={"id": uid}), 403)
    assert ok(admin.get(BASE, query_string={"id": uid}))["results"][0]["labelling"][0]["assigned"] == [label("A")]


def test_a_comment_of_another_projects_source_needs_sources_read_there(app, admin, setup):
    """Issue 11, case 4: datasets-review on A alone wrote a label on (and read the
    text of) a comment from project B's source that an admin had added to A's dataset."""
    source, _ = setup
    make_project(admin, "other")
    foreign = make_source(admin, "other", "outside")
    ok(sync(admin, [comment(1, text="secret text")], project="other", source="outside"))
    ok(admin.post("/api/v1/datasets/acme/triage", json={"dataset": {"source_ids": [source["id"], foreign["id"]]}}))
    reviewer = make_user(app, "reviewer", projects={"acme": ["datasets-review", "voc-readonly", "sources-read"]})
    uid = f"{foreign['id']}.c-00001"
    for body in ({"labelling": [{"group": "default", "assigned": [label("Leak")]}]}, {}):
        message = error(reviewer.post(f"{BASE}/{uid}", json=body), 403)
        assert "'sources-read'" in message and "'other'" in message and "secret" not in message
    assert "labelling" not in ok(admin.get(BASE, query_string={"id": uid}))["results"][0]
    names = [d["name"] for d in ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["label_defs"]]
    assert "Leak" not in names
    # Its own project's comments it labels as before; with sources-read on B it may label B's too.
    ok(write(reviewer, f"{source['id']}.c-00001", labelling=[{"group": "default", "assigned": [label("A")]}]))
    both = make_user(app, "both", projects={"acme": ["datasets-review"], "other": ["sources-read"]})
    assert ok(write(both, uid, labelling=[{"group": "default", "assigned": [label("B")]}]))["comment"]["uid"] == uid
    # A source outside the dataset stays a 400, whoever asks.
    stray = make_source(admin, "other", "stray")
    ok(sync(admin, [comment(1)], project="other", source="stray"))
    error(write(admin, f"{stray['id']}.c-00001", labelling=[]), 400)


def test_401(anon, setup):
    error(anon.get(BASE), 401)
