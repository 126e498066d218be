"""Rename, move and delete labels: the defs and every labelling follow."""
from __future__ import annotations

from ..helpers import assign, comment, error, label, make_dataset, make_project, make_source, make_user, ok, upload

BASE = "/api/_private/datasets/acme/triage"


def setup(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    ok(upload(admin, [comment(i) for i in range(3)]))
    uid = lambda i: f"{source['id']}.c-{i:05d}"  # noqa: E731
    assign(admin, uid(0), label("Billing > Refund"), label("Delivery", "negative"))
    assign(admin, uid(1), label("Billing > Refund > Partial"))
    ok(admin.post(f"{BASE}/labellings/{uid(2)}", json={"labelling": [
        {"group": "default", "assigned": [], "dismissed": [label("Billing > Refund")]}]}))
    return uid


def names(admin):
    return [d["name"] for d in ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["label_defs"]]


def labelling(admin, uid):
    result = ok(admin.get(f"{BASE}/labellings", query_string={"id": uid}))["results"][0]
    group = next((g for g in result.get("labelling", []) if g["group"] == "default"), {})
    return group.get("assigned", []), group.get("dismissed", [])


def test_move_a_label_with_its_children_rewrites_defs_and_labellings(admin):
    uid = setup(admin)
    body = ok(admin.post(f"{BASE}/labels/default/rename", json={"name": "Billing > Refund", "new_name": "Money > Refund"}))
    assert body == {"status": "ok", "renamed_labels": 2, "updated_comments": 3}
    assert names(admin) == ["Billing", "Money > Refund", "Delivery", "Money > Refund > Partial", "Money"]
    assert labelling(admin, uid(0))[0] == [label("Money > Refund"), label("Delivery", "negative")]
    assert labelling(admin, uid(1))[0] == [label("Money > Refund > Partial")]
    assert labelling(admin, uid(2)) == ([], [label("Money > Refund")])
    # The query route's label filter finds them under the new name only.
    query = {"filter": {}, "order": {"kind": "recent"},
             "attribute_filters": [{"attribute": "labels", "filter": {"kind": "string_any_of", "any_of": ["Money > Refund"]}}]}
    assert {r["comment"]["uid"] for r in ok(admin.post(f"{BASE}/query", json=query))["results"]} == {uid(0), uid(1)}


def test_rename_a_leaf(admin):
    uid = setup(admin)
    body = ok(admin.post(f"{BASE}/labels/default/rename", json={"name": "Delivery", "new_name": "Shipping"}))
    assert body["renamed_labels"] == 1 and body["updated_comments"] == 1
    assert "Shipping" in names(admin) and "Delivery" not in names(admin)
    assert labelling(admin, uid(0))[0] == [label("Billing > Refund"), label("Shipping", "negative")]


def test_rename_refuses_an_existing_target_a_move_under_itself_and_unknown_labels(admin):
    setup(admin)
    assert "'Delivery' already exists" in error(admin.post(
        f"{BASE}/labels/default/rename", json={"name": "Billing", "new_name": "Delivery"}), 409)
    assert "under itself" in error(admin.post(
        f"{BASE}/labels/default/rename", json={"name": "Billing", "new_name": "Billing > Sub"}), 400)
    assert "'Nope' not found" in error(admin.post(
        f"{BASE}/labels/default/rename", json={"name": "Nope", "new_name": "X"}), 404)
    assert "new_name" in error(admin.post(f"{BASE}/labels/default/rename", json={"name": "Billing"}), 400)
    empty_part = admin.post(f"{BASE}/labels/default/rename", json={"name": "Billing", "new_name": "A >  > B"})
    assert "non-empty" in error(empty_part, 400)
    assert empty_part.get_json()["field"] == "new_name"
    assert names(admin) == ["Billing", "Billing > Refund", "Delivery", "Billing > Refund > Partial"]


def test_delete_a_label_takes_it_and_its_children_off_every_comment(admin):
    uid = setup(admin)
    body = ok(admin.delete(f"{BASE}/labels/default", query_string={"name": "Billing > Refund"}))
    assert body == {"status": "ok", "deleted_labels": 2, "updated_comments": 3}
    assert names(admin) == ["Billing", "Delivery"]
    assert labelling(admin, uid(0))[0] == [label("Delivery", "negative")]
    assert labelling(admin, uid(1)) == ([], [])
    reviewed = ok(admin.post(f"{BASE}/statistics", json={"comment_filter": {"reviewed": "only_reviewed"}}))
    assert reviewed["statistics"]["num_comments"] == 1  # the other two have no label left
    assert "'Billing > Refund' not found" in error(
        admin.delete(f"{BASE}/labels/default", query_string={"name": "Billing > Refund"}), 404)
    assert "name" in error(admin.delete(f"{BASE}/labels/default"), 400)


def test_only_voc_may_rename_or_delete(admin, app):
    setup(admin)
    reviewer = make_user(app, "rev", projects={"acme": ["voc-readonly", "sources-read", "datasets-review"]})
    assert "'voc'" in error(reviewer.post(
        f"{BASE}/labels/default/rename", json={"name": "Delivery", "new_name": "X"}), 403)
    assert "'voc'" in error(reviewer.delete(f"{BASE}/labels/default", query_string={"name": "Delivery"}), 403)
    assert names(admin) == ["Billing", "Billing > Refund", "Delivery", "Billing > Refund > Partial"]
