"""Inputs the server used to take a guess about (docs/decisions.md, "A new user's
first hour"): a `>` that is not the separator, a labelling without `group`, and
comments with no text."""
import pytest

from ..helpers import (comment, error, label, make_dataset, make_project, make_source, ok, sync,
                       train_tiny_model)

BASE = "/api/_private/datasets/acme/triage"


@pytest.fixture
def source(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    ok(sync(admin, [comment(i) for i in range(3)]))
    return source


def write(client, uid, labelling):
    return client.post(f"{BASE}/labellings/{uid}", json={"labelling": labelling})


def label_names(admin):
    return [d["name"] for d in ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["label_defs"]]


def test_a_loose_separator_is_stored_as_one_flat_label_with_a_warning(admin, source):
    body = ok(write(admin, f"{source['id']}.c-00000", [
        {"group": "default", "assigned": [label("Billing>Refund"), label("Card")],
         "dismissed": [label("Delivery >Late")]}]))
    assert body["labelling"][0]["assigned"] == [label("Billing>Refund"), label("Card")]
    assert body["warnings"] == [
        "Label 'Billing>Refund' is one flat label: the hierarchy separator is \" > \" (space, '>', space), "
        "as in 'Billing > Refund'.",
        "Label 'Delivery >Late' is one flat label: the hierarchy separator is \" > \" (space, '>', space), "
        "as in 'Delivery > Late'.",
    ]
    assert label_names(admin) == ["Billing>Refund", "Card", "Delivery >Late"]  # no parent made up

    proper = ok(write(admin, f"{source['id']}.c-00001", [
        {"group": "default", "assigned": [label("Billing > Refund")]}]))
    assert "warnings" not in proper
    assert label_names(admin)[-2:] == ["Billing", "Billing > Refund"]


def test_a_labelling_without_group_is_a_400_and_writes_nothing(admin, source):
    uid = f"{source['id']}.c-00000"
    message = error(write(admin, uid, [{"assigned": [label("Card")]}]), 400)
    assert "labelling.0.group: Missing data for required field." in message
    got = ok(admin.get(f"{BASE}/labellings", query_string={"id": uid}))["results"][0]
    assert "labelling" not in got and label_names(admin) == []


def test_a_comment_without_text_is_stored_but_gets_no_predictions_and_teaches_nothing(admin, source):
    version = train_tiny_model(admin, source["id"])
    ok(sync(admin, [comment(100, id="empty", messages=[]),
                    comment(101, id="blank", messages=[{"body": {"text": ""}}])]))
    sid = source["id"]
    got = ok(admin.get(f"/api/v1/sources/acme/inbox/comments/empty"))["comment"]
    assert got["messages"] == []

    predicted = ok(admin.post(f"/api/v1/datasets/acme/triage/labellers/{version}/predict-comments",
                              json={"uids": [f"{sid}.empty", f"{sid}.t-00000", f"{sid}.blank"]}))["predictions"]
    assert [p["uid"] for p in predicted] == [f"{sid}.empty", f"{sid}.t-00000", f"{sid}.blank"]
    assert predicted[0]["labels"] == [] and predicted[2]["labels"] == []
    assert {tuple(p["name"]) for p in predicted[1]["labels"]} >= {("Billing",), ("Billing", "Refund")}

    raw = ok(admin.post(f"/api/v1/datasets/acme/triage/labellers/{version}/predict",
                        json={"documents": [{"messages": [{"body": {"text": ""}}]},
                                            {"messages": [{"body": {"text": "refund me"}}]}]}))
    assert raw["predictions"][0]["labels"] == [] and raw["predictions"][1]["labels"] != []

    ok(write(admin, f"{sid}.empty", [{"group": "default", "assigned": [label("Billing > Refund", "negative")]}]))
    model = ok(admin.post("/api/v1/datasets/acme/triage/train", json={"wait": True}))["model"]
    assert model["version"] == version + 1
    assert model["reviewed_size"] == 48  # the 48 texts of train_tiny_model; the empty comment is left out
