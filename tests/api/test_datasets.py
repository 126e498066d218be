from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from reinfer_clone.models import Dataset
from reinfer_clone.services import datasets as datasets_service

from ..helpers import (
    HEX_RE,
    comment,
    error,
    is_utc,
    make_dataset,
    make_project,
    make_source,
    make_user,
    ok,
    sync,
)

DATASET_KEYS = {
    "id", "owner", "name", "title", "description", "created", "last_modified", "model_family",
    "source_ids", "has_sentiment", "entity_defs", "general_fields", "label_defs", "label_groups",
    "_dataset_flags", "_labelf_model_id",
}
FAMILIES_START = "['english', 'german', 'multilingual'"
MISSING_ID = "0123456789abcdef"


@pytest.fixture
def project(admin):
    return make_project(admin, "acme")


def get(client, project="acme", name="triage") -> dict:
    return ok(client.get(f"/api/v1/datasets/{project}/{name}"))["dataset"]


def update(client, project="acme", name="triage", **changes) -> dict:
    response = client.post(f"/api/v1/datasets/{project}/{name}", json={"dataset": changes})
    return ok(response)["dataset"]


def put_labels(client, label_defs, group="default", project="acme", name="triage"):
    path = f"/api/_private/datasets/{project}/{name}/labels/{group}"
    return client.put(path, json={"label_defs": label_defs})


def names(label_defs) -> list[str]:
    return [d["name"] for d in label_defs]


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- create and read -----------------------------------------------------------------

def test_create_returns_full_object_with_defaults(admin, project):
    dataset = make_dataset(admin)
    assert set(dataset) == DATASET_KEYS
    assert HEX_RE.match(dataset["id"])
    assert dataset["owner"] == "acme" and dataset["name"] == "triage"
    assert dataset["title"] == "" and dataset["description"] == ""
    assert is_utc(dataset["created"]) and dataset["last_modified"] == dataset["created"]
    assert dataset["model_family"] == "english"
    assert dataset["source_ids"] == []
    assert dataset["has_sentiment"] is True
    assert dataset["entity_defs"] == [] and dataset["general_fields"] == []
    assert dataset["label_defs"] == []
    assert dataset["label_groups"] == [{"name": "default", "label_defs": []}]
    assert dataset["_dataset_flags"] == []
    assert is_int(dataset["_labelf_model_id"])
    assert get(admin) == dataset


def test_create_echoes_every_given_field(admin, project):
    a = make_source(admin, name="a")
    b = make_source(admin, name="b")
    dataset = make_dataset(
        admin, title="Triage", description="Support mail", has_sentiment=False,
        model_family="german", source_ids=[b["id"], a["id"], b["id"]],
        general_fields=[{"api_name": "amount", "field_type_name": "money"}, {"api_name": "x"}],
        _dataset_flags=["qos", "ixp"], copy_annotations_from=None, unknown_field={"x": 1},
    )
    assert dataset["title"] == "Triage" and dataset["description"] == "Support mail"
    assert dataset["has_sentiment"] is False
    assert dataset["model_family"] == "german"
    # Given order kept; a repeated id counts once.
    assert dataset["source_ids"] == [b["id"], a["id"]]
    assert dataset["general_fields"] == [
        {"api_name": "amount", "field_type_name": "money"}, {"api_name": "x"},
    ]
    assert dataset["_dataset_flags"] == ["qos", "ixp"]
    assert "unknown_field" not in dataset
    assert get(admin) == dataset


def test_unknown_request_fields_are_ignored(admin, project):
    body = {"dataset": {"title": "T", "bogus": 1}, "also_bogus": [1]}
    dataset = ok(admin.put("/api/v1/datasets/acme/triage", json=body))["dataset"]
    assert dataset["title"] == "T" and set(dataset) == DATASET_KEYS


def test_get_by_encoded_name_and_by_id(admin, project):
    dataset = make_dataset(admin)
    assert ok(admin.get("/api/v1/datasets/" + quote("acme/triage", safe="")))["dataset"] == dataset
    assert ok(admin.get(f"/api/v1/datasets/id:{dataset['id']}"))["dataset"] == dataset


def test_lists(admin, project):
    make_project(admin, "other")
    b = make_dataset(admin, "acme", "b")
    a = make_dataset(admin, "acme", "a")
    c = make_dataset(admin, "other", "c")
    assert ok(admin.get("/api/v1/datasets"))["datasets"] == [a, b, c]
    assert ok(admin.get("/api/v1/datasets/acme"))["datasets"] == [a, b]
    assert ok(admin.get("/api/v1/datasets/other"))["datasets"] == [c]


def test_labelf_model_ids_are_unique_and_never_reused(admin, project):
    a = make_dataset(admin, name="a")
    b = make_dataset(admin, name="b")
    assert a["_labelf_model_id"] != b["_labelf_model_id"]
    ok(admin.delete(f"/api/v1/datasets/id:{b['id']}"))
    c = make_dataset(admin, name="c")
    assert c["_labelf_model_id"] not in (a["_labelf_model_id"], b["_labelf_model_id"])


# --- behaviour the official client's tests check (contract §16) -----------------------

CLI_LABEL_DEFS = [
    {"name": "bar"},
    {
        "name": "foo",
        "instructions": "Long label description",
        "external_id": "ext id",
        "title": "Title Me",
        "pretrained": {"id": "0000000000000001", "name": "Autogenerated"},
        "moon_form": [{"name": "luna", "kind": "ent", "type": "string", "required": False}],
    },
]
CLI_EXPECTED_DEFS = [
    {"name": "bar", "title": "", "instructions": ""},
    {
        "name": "foo",
        "title": "Title Me",
        "instructions": "Long label description",
        "external_id": "ext id",
        "pretrained": {"id": "0000000000000001", "name": "Autogenerated"},
        "moon_form": [{"name": "luna", "kind": "ent", "instructions": ""}],
    },
]


def test_cli_create_update_dataset_custom(admin, project):
    entity = {"name": "ent", "title": "A magic tree", "inherits_from": [], "trainable": False}
    created = make_dataset(
        admin, title="some title", description="some description", has_sentiment=True,
        source_ids=[], entity_defs=[entity], label_defs=CLI_LABEL_DEFS,
    )
    dataset = get(admin)
    assert dataset == created
    assert dataset["label_defs"] == CLI_EXPECTED_DEFS
    assert dataset["label_groups"] == [{"name": "default", "label_defs": CLI_EXPECTED_DEFS}]
    [ent] = dataset["entity_defs"]
    assert HEX_RE.match(ent["id"])
    assert ent == {
        "id": ent["id"], "name": "ent", "title": "A magic tree", "inherits_from": [],
        "trainable": False, "color": 0, "_entity_def_flags": [],
    }

    # Partial update: only the title changes.
    updated = update(admin, title="updated title")
    assert updated == {**dataset, "title": "updated title", "last_modified": updated["last_modified"]}
    assert updated["last_modified"] >= dataset["last_modified"]

    source = make_source(admin)
    updated = update(
        admin, title="updated title", description="updated description", source_ids=[source["id"]]
    )
    assert updated["description"] == "updated description"
    assert updated["source_ids"] == [source["id"]]

    # An empty update changes nothing, not even last_modified.
    assert update(admin) == updated
    assert get(admin) == updated

    # `--source` with no ids clears the sources.
    cleared = update(admin, source_ids=[])
    assert cleared["source_ids"] == []
    assert {k: v for k, v in cleared.items() if k not in ("source_ids", "last_modified")} == {
        k: v for k, v in updated.items() if k not in ("source_ids", "last_modified")
    }


@pytest.mark.parametrize("flag", ["gpt4", "external_moon_llm", "zero_shot_labels", "qos"])
def test_cli_dataset_flags(admin, project, flag):
    assert make_dataset(admin, _dataset_flags=[flag])["_dataset_flags"] == [flag]
    assert get(admin)["_dataset_flags"] == [flag]


def test_cli_all_flags_together(admin, project):
    flags = ["gpt4", "external_moon_llm", "zero_shot_labels", "qos"]
    assert make_dataset(admin, _dataset_flags=flags)["_dataset_flags"] == flags


def test_cli_model_family(admin, project):
    assert make_dataset(admin, model_family="german")["model_family"] == "german"
    assert make_dataset(admin, name="multi", model_family="multilingual")["model_family"] == "multilingual"


def test_cli_wrong_model_family_is_400_with_the_bare_message(admin, project):
    response = admin.put(
        "/api/v1/datasets/acme/triage", json={"dataset": {"model_family": "non-existent-family"}}
    )
    message = error(response, 400)
    # The client prints "API request failed with 400 Bad Request: <message>" and its
    # test matches "...: 'non-existent-family' is not one of".
    assert message.startswith("'non-existent-family' is not one of " + FAMILIES_START)
    assert response.get_json()["field"] == "model_family"
    assert ok(admin.get("/api/v1/datasets"))["datasets"] == []


def test_cli_copy_annotations_from(admin, project):
    origin = make_dataset(admin, name="origin")
    assert make_dataset(admin, name="copy", copy_annotations_from=origin["id"])["name"] == "copy"
    body = {"dataset": {"copy_annotations_from": MISSING_ID}}
    assert MISSING_ID in error(admin.put("/api/v1/datasets/acme/other", json=body), 404)


def test_copy_annotations_from_copies_labellings_of_shared_sources(admin, project):
    a, b = make_source(admin, "acme", "a"), make_source(admin, "acme", "b")
    ok(sync(admin, [comment(1)], source="a"))
    ok(sync(admin, [comment(2)], source="b"))
    make_dataset(admin, name="origin", source_ids=[a["id"], b["id"]])
    labelling = {"group": "default", "assigned": [{"name": "Billing > Refund", "sentiment": "negative"}],
                 "dismissed": [{"name": "Spam", "sentiment": "positive"}]}
    for uid in (f"{a['id']}.c-00001", f"{b['id']}.c-00002"):
        ok(admin.post(f"/api/_private/datasets/acme/origin/labellings/{uid}", json={"labelling": [labelling]}))
    origin = get(admin, name="origin")
    copy = make_dataset(admin, name="copy", source_ids=[a["id"]], copy_annotations_from=origin["id"])
    # Only the shared source's comment is copied, with its assigned and dismissed labels.
    (item,) = ok(admin.post("/api/v1/datasets/acme/copy/export", json={}))["comments"]
    assert item["comment"]["uid"] == f"{a['id']}.c-00001"
    assert item["annotations"]["labels"]["assigned"] == [
        {"name": "Billing", "sentiment": "negative"}, {"name": "Billing > Refund", "sentiment": "negative"}]
    read = ok(admin.get("/api/_private/datasets/acme/copy/labellings", query_string={"id": f"{a['id']}.c-00001"}))
    assert [r["labelling"][0]["dismissed"] for r in read["results"]] == [[{"name": "Spam", "sentiment": "positive"}]]
    assert {d["name"] for d in get(admin, name="copy")["label_defs"]} == {"Billing", "Billing > Refund", "Spam"}
    assert copy["id"] != origin["id"]
    # The origin keeps its own; later changes to one do not reach the other.
    ok(admin.post(f"/api/_private/datasets/acme/copy/labellings/{a['id']}.c-00001", json={"labelling": [
        {"group": "default", "assigned": [], "dismissed": []}]}))
    assert len(ok(admin.post("/api/v1/datasets/acme/origin/export", json={}))["comments"]) == 2
    origin_item = ok(admin.post("/api/v1/datasets/acme/origin/export",
                                json={"comment_uids": [f"{a['id']}.c-00001"]}))["comments"][0]
    assert origin_item["annotations"]["labels"]["assigned"][1]["name"] == "Billing > Refund"


# --- label defs and the hierarchy ------------------------------------------------------

def test_child_label_creates_missing_parents_before_it(admin, project):
    dataset = make_dataset(admin, label_defs=[
        {"name": "Billing > Refund", "instructions": "Customer asks for money back"},
        {"name": "A > B > C"},
        {"name": "Billing"},
    ])
    assert dataset["label_defs"] == [
        {"name": "Billing", "title": "", "instructions": ""},
        {"name": "Billing > Refund", "title": "", "instructions": "Customer asks for money back"},
        {"name": "A", "title": "", "instructions": ""},
        {"name": "A > B", "title": "", "instructions": ""},
        {"name": "A > B > C", "title": "", "instructions": ""},
    ]


def test_parent_given_after_child_keeps_its_fields_and_comes_first(admin, project):
    dataset = make_dataset(admin, label_defs=[{"name": "A > B"}, {"name": "A", "title": "T"}])
    assert dataset["label_defs"] == [
        {"name": "A", "title": "T", "instructions": ""},
        {"name": "A > B", "title": "", "instructions": ""},
    ]


def test_label_groups_win_over_label_defs(admin, project):
    dataset = make_dataset(
        admin,
        label_defs=[{"name": "ignored"}],
        label_groups=[{"name": "extra", "label_defs": [{"name": "x > y"}]}, {"name": "empty"}],
    )
    assert dataset["label_defs"] == []
    assert dataset["label_groups"] == [
        {"name": "default", "label_defs": []},
        {"name": "extra", "label_defs": [
            {"name": "x", "title": "", "instructions": ""},
            {"name": "x > y", "title": "", "instructions": ""},
        ]},
        {"name": "empty", "label_defs": []},
    ]


def test_label_groups_may_name_the_default_group(admin, project):
    dataset = make_dataset(admin, label_groups=[{"name": "default", "label_defs": [{"name": "a"}]}])
    assert names(dataset["label_defs"]) == ["a"]
    assert names(dataset["label_groups"]) == ["default"]


def test_put_labels_creates_and_updates_by_name(admin, project):
    before = make_dataset(admin, label_defs=[{"name": "a", "instructions": "keep", "title": "A"}])
    response = put_labels(admin, [
        {"name": "a", "title": "New A"},
        {"name": "b > c", "external_id": "", "pretrained": {"id": "p1"}},
    ])
    assert ok(response) == {"status": "ok"}
    dataset = get(admin)
    assert dataset["label_defs"] == [
        # Keys left out keep their value.
        {"name": "a", "title": "New A", "instructions": "keep"},
        {"name": "b", "title": "", "instructions": ""},
        # "" is not a valid external id for the client: it reads as unset.
        {"name": "b > c", "title": "", "instructions": "", "pretrained": {"id": "p1", "name": ""}},
    ]
    assert dataset["label_groups"] == [{"name": "default", "label_defs": dataset["label_defs"]}]
    assert dataset["last_modified"] > before["last_modified"]

    # The same request again changes nothing.
    ok(put_labels(admin, [{"name": "a", "title": "New A"}, {"name": "b > c"}]))
    assert get(admin) == dataset

    # Explicit nulls clear optional keys.
    ok(put_labels(admin, [{"name": "b > c", "pretrained": None, "external_id": "x"}]))
    assert get(admin)["label_defs"][2] == {
        "name": "b > c", "title": "", "instructions": "", "external_id": "x",
    }


def test_put_labels_creates_a_missing_group(admin, project):
    make_dataset(admin, label_defs=[{"name": "a"}])
    ok(put_labels(admin, [{"name": "x > y"}], group="other"))
    ok(put_labels(admin, [], group="empty"))
    dataset = get(admin)
    assert names(dataset["label_defs"]) == ["a"]
    assert [(g["name"], names(g["label_defs"])) for g in dataset["label_groups"]] == [
        ("default", ["a"]), ("other", ["x", "x > y"]), ("empty", []),
    ]


def test_ensure_label_defs_is_idempotent(admin, project, session):
    """The function labellings call with the label names they are given."""
    made = make_dataset(admin)
    dataset = session.get(Dataset, made["id"])
    assert datasets_service.ensure_label_defs(session, dataset, "default", ["X > Y", "X > Y", "Z"])
    session.commit()
    assert not datasets_service.ensure_label_defs(session, dataset, "default", ["X", "Z", "X > Y"])
    session.commit()
    assert [d.name for d in dataset.label_defs] == ["X", "X > Y", "Z"]
    assert names(get(admin)["label_defs"]) == ["X", "X > Y", "Z"]


def test_concurrent_label_writes_create_each_def_once(app, admin, project):
    """The client posts labellings from a thread pool; their label names meet here."""
    make_dataset(admin)
    writers = 6

    def writer(n):
        client = app.test_client()
        statuses = []
        for round_ in range(4):
            # Overlapping sets, sorted as the docstring of ensure_label_defs asks.
            labels = sorted({f"L{(n + round_ + k) % 8} > c{k % 3}" for k in range(5)})
            while True:
                response = client.put(
                    "/api/_private/datasets/acme/triage/labels/default",
                    json={"label_defs": [{"name": name} for name in labels]},
                    headers={"Authorization": f"Bearer {admin.token}"},
                )
                statuses.append(response.status_code)
                if response.status_code not in (409, 503):
                    break
        return statuses

    with ThreadPoolExecutor(writers) as pool:
        statuses = [s for result in pool.map(writer, range(writers)) for s in result]
    assert set(statuses) <= {200, 409, 503}, statuses
    assert statuses.count(200) == writers * 4
    stored = names(get(admin)["label_defs"])
    assert len(stored) == len(set(stored))
    assert set(stored) == {f"L{i}" for i in range(8)} | {
        f"L{(n + r + k) % 8} > c{k % 3}" for n in range(writers) for r in range(4) for k in range(5)
    }
    children = [name for name in stored if " > " in name]
    assert all(stored.index(name.split(" > ")[0]) < stored.index(name) for name in children)


def test_rejected_label_request_writes_nothing(admin, project):
    make_dataset(admin, label_defs=[{"name": "a"}])
    before = get(admin)
    message = error(put_labels(admin, [{"name": "fine"}, {"name": "Billing > "}]), 400)
    assert "Billing > " in message
    message = error(put_labels(admin, [{"name": "fine"}, {"title": "no name"}]), 400)
    assert "label_defs.1.name" in message
    assert "label_defs" in error(admin.put("/api/_private/datasets/acme/triage/labels/default", json={}), 400)
    assert "name" in error(put_labels(admin, [{"name": "x"}], group="bad group"), 400)
    assert get(admin) == before


# --- entity defs, model config ----------------------------------------------------------

def test_entity_defs_append_and_update_by_name(admin, project):
    rules = {"suppressors": ["no"], "choices": [{"name": "c", "values": ["v"]}], "regex": {"pattern": "x+"}}
    created = make_dataset(admin, entity_defs=[{
        "name": "org", "title": "Org", "inherits_from": ["base"], "trainable": True,
        "_entity_def_flags": ["appears_verbatim"], "rules": rules, "instructions": "Companies",
    }])
    [org] = created["entity_defs"]
    [choice] = org["rules"]["choices"]
    assert HEX_RE.match(choice["id"])
    assert org == {
        "id": org["id"], "name": "org", "title": "Org", "inherits_from": ["base"], "trainable": True,
        "color": 0, "_entity_def_flags": ["appears_verbatim"], "instructions": "Companies",
        "rules": {"suppressors": ["no"], "choices": [{"id": choice["id"], "name": "c", "values": ["v"]}],
                  "regex": {"pattern": "x+"}},
    }
    updated = update(admin, entity_defs=[
        {"name": "org", "title": "Organisation", "inherits_from": [], "trainable": False,
         "rules": {**rules, "regex": {"templates": [{"template": "t", "pattern": "p"}]}}},
        {"name": "person", "title": "Person", "inherits_from": [], "trainable": True},
    ])
    org2, person = updated["entity_defs"]
    # Same def (id, colour, choice ids kept); omitted optional keys keep their value.
    assert org2 == {
        **org, "title": "Organisation", "inherits_from": [], "trainable": False,
        "rules": {**org["rules"], "regex": {"templates": [{"template": "t", "pattern": "p"}]}},
    }
    assert person["id"] != org["id"] and person["color"] == 0 and "rules" not in person
    assert updated["last_modified"] > created["last_modified"]
    assert get(admin)["entity_defs"] == [org2, person]


def test_model_config_is_stored_and_echoed(admin, project):
    dataset = make_dataset(admin)
    assert "_model_config" not in dataset
    updated = update(admin, _model_config={"kind": "cm"})
    assert updated["_model_config"] == {"kind": "cm"}
    assert get(admin)["_model_config"] == {"kind": "cm"}
    assert "_model_config" not in update(admin, _model_config=None)
    message = error(admin.post(
        "/api/v1/datasets/acme/triage", json={"dataset": {"_model_config": {"kind": "gpt_ixp"}}}
    ), 400)
    assert "dataset._model_config.kind" in message and "'gpt_ixp' is not one of ['cm']" in message


def test_update_ignores_fields_it_does_not_change(admin, project):
    dataset = make_dataset(admin)
    # (model_family is updatable: our extension, tests/api/test_models_v2.py.)
    body = {"dataset": {"name": "renamed", "label_defs": [{"name": "x"}]}}
    assert ok(admin.post("/api/v1/datasets/acme/triage", json=body))["dataset"] == dataset


# --- sources ---------------------------------------------------------------------------

def test_deleting_a_source_drops_it_from_datasets(admin, project):
    a = make_source(admin, name="a")
    b = make_source(admin, name="b")
    make_dataset(admin, source_ids=[a["id"], b["id"]])
    ok(admin.delete(f"/api/v1/sources/id:{a['id']}"))
    assert get(admin)["source_ids"] == [b["id"]]


def test_sources_in_other_projects_need_sources_read(app, admin, project):
    make_project(admin, "other")
    theirs = make_source(admin, "other", "theirs")
    mine = make_source(admin, "acme", "mine")
    user = make_user(app, "user", projects={
        "acme": ["voc", "voc-readonly", "datasets-admin", "sources-read"], "other": ["voc-readonly"],
    })
    body = {"dataset": {"source_ids": [mine["id"], theirs["id"]]}}
    assert "sources-read" in error(user.put("/api/v1/datasets/acme/triage", json=body), 403)
    assert ok(user.get("/api/v1/datasets"))["datasets"] == []
    make_dataset(user, source_ids=[mine["id"]])
    error(user.post("/api/v1/datasets/acme/triage", json=body), 403)
    assert get(user)["source_ids"] == [mine["id"]]
    # With the permission on the other project, a dataset may span both.
    make_dataset(admin, name="both", source_ids=[mine["id"], theirs["id"]])


def test_unknown_source_is_404_and_writes_nothing(admin, project):
    source = make_source(admin)
    body = {"dataset": {"source_ids": [source["id"], MISSING_ID]}}
    assert MISSING_ID in error(admin.put("/api/v1/datasets/acme/triage", json=body), 404)
    assert ok(admin.get("/api/v1/datasets"))["datasets"] == []
    dataset = make_dataset(admin, source_ids=[source["id"]], title="T")
    body = {"dataset": {"source_ids": [MISSING_ID], "title": "changed"}}
    error(admin.post("/api/v1/datasets/acme/triage", json=body), 404)
    assert get(admin) == dataset


# --- delete ----------------------------------------------------------------------------

def test_delete_by_id_and_by_name(admin, project):
    source = make_source(admin)
    a = make_dataset(admin, name="a", source_ids=[source["id"]], label_defs=[{"name": "x > y"}])
    b = make_dataset(admin, name="b")
    keep = make_dataset(admin, name="keep")
    assert ok(admin.delete(f"/api/v1/datasets/id:{a['id']}")) == {"status": "ok"}
    assert ok(admin.delete("/api/v1/datasets/acme/b")) == {"status": "ok"}
    assert ok(admin.get("/api/v1/datasets"))["datasets"] == [keep]
    error(admin.get(f"/api/v1/datasets/id:{a['id']}"), 404)
    error(admin.get(f"/api/v1/datasets/id:{b['id']}"), 404)
    # Sources are untouched, and the name can be used again.
    assert ok(admin.get(f"/api/v1/sources/id:{source['id']}"))["source"] == source
    assert make_dataset(admin, name="a")["label_defs"] == []


def test_project_delete_counts_datasets(admin, project):
    make_dataset(admin)
    message = error(admin.delete("/api/_private/projects/acme"), 409)
    assert message == (
        'Project contains child resources but force deletion was not requested: {"datasets": 1}'
    )
    make_source(admin)
    message = error(admin.delete("/api/_private/projects/acme"), 409)
    assert message.endswith('{"datasets": 1, "sources": 1}')
    ok(admin.delete("/api/_private/projects/acme?force=true"))
    assert ok(admin.get("/api/v1/datasets"))["datasets"] == []


# --- model tags ------------------------------------------------------------------------

def test_model_tags_are_empty_without_models(app, admin, project):
    make_dataset(admin)
    assert ok(admin.get("/api/v1/datasets/acme/triage/model-tags")) == {
        "status": "ok", "model_tags": [],
    }
    model_admin = make_user(app, "modeller", projects={"acme": ["model-admin"]})
    assert ok(model_admin.get("/api/v1/datasets/acme/triage/model-tags"))["model_tags"] == []
    error(model_admin.get("/api/v1/datasets/acme/triage"), 403)


# --- errors ----------------------------------------------------------------------------

def test_duplicate_is_409(admin, project):
    dataset = make_dataset(admin, title="first")
    body = {"dataset": {"title": "second"}}
    assert "already exists" in error(admin.put("/api/v1/datasets/acme/triage", json=body), 409)
    assert get(admin) == dataset


def test_missing_things_are_404(admin, project):
    make_dataset(admin)
    for response in (
        admin.get("/api/v1/datasets/acme/nope"),
        admin.get(f"/api/v1/datasets/id:{MISSING_ID}"),
        admin.post("/api/v1/datasets/acme/nope", json={"dataset": {}}),
        admin.delete("/api/v1/datasets/acme/nope"),
        admin.delete(f"/api/v1/datasets/id:{MISSING_ID}"),
        admin.get("/api/v1/datasets/acme/nope/model-tags"),
        put_labels(admin, [{"name": "x"}], name="nope"),
    ):
        error(response, 404)
    assert "Project 'ghost'" in error(admin.put("/api/v1/datasets/ghost/x", json={"dataset": {}}), 404)
    assert ok(admin.get("/api/v1/datasets/ghost"))["datasets"] == []


@pytest.mark.parametrize(
    "fields, field_name",
    [
        ({"title": 3}, "dataset.title"),
        ({"description": None}, "dataset.description"),
        ({"has_sentiment": "yes"}, "dataset.has_sentiment"),
        ({"has_sentiment": 1}, "dataset.has_sentiment"),
        ({"source_ids": "abc"}, "dataset.source_ids"),
        ({"model_family": 3}, "dataset.model_family"),
        ({"_dataset_flags": ["gpt4", "gpt5"]}, "dataset._dataset_flags.1"),
        ({"_dataset_flags": "gpt4"}, "dataset._dataset_flags"),
        ({"label_defs": [{"title": "no name"}]}, "dataset.label_defs.0.name"),
        ({"label_defs": [{"name": 7}]}, "dataset.label_defs.0.name"),
        ({"label_defs": [{"name": "x", "moon_form": [{"name": "f"}]}]},
         "dataset.label_defs.0.moon_form.0.kind"),
        ({"label_defs": [{"name": "x", "pretrained": {"name": "p"}}]},
         "dataset.label_defs.0.pretrained.id"),
        ({"label_defs": [{"name": "x", "trainable": "no"}]}, "dataset.label_defs.0.trainable"),
        ({"label_groups": [{"label_defs": []}]}, "dataset.label_groups.0.name"),
        ({"general_fields": [{"field_type_id": "t"}]}, "dataset.general_fields.0.api_name"),
        ({"entity_defs": [{"name": "e", "inherits_from": [], "trainable": True}]},
         "dataset.entity_defs.0.title"),
        ({"entity_defs": [{"name": "e", "title": "", "inherits_from": [], "trainable": True,
                           "_entity_def_flags": ["bold"]}]},
         "dataset.entity_defs.0._entity_def_flags.0"),
        ({"entity_defs": [{"name": "e", "title": "", "inherits_from": [], "trainable": True,
                           "rules": {"regex": {"oops": 1}}}]},
         "dataset.entity_defs.0.rules.regex"),
        ({"copy_annotations_from": 5}, "dataset.copy_annotations_from"),
    ],
)
def test_bad_fields_are_400_naming_the_field(admin, project, fields, field_name):
    message = error(admin.put("/api/v1/datasets/acme/triage", json={"dataset": fields}), 400)
    assert field_name in message
    assert ok(admin.get("/api/v1/datasets"))["datasets"] == []


def test_unknown_flag_message_lists_the_known_ones(admin, project):
    body = {"dataset": {"_dataset_flags": ["gpt5"]}}
    message = error(admin.put("/api/v1/datasets/acme/triage", json=body), 400)
    assert "'gpt5' is not one of ['gpt4', 'external_moon_llm', 'qos', 'zero_shot_labels', 'ixp']" in message


@pytest.mark.parametrize(
    "changes, field_name",
    [
        ({"title": None}, "dataset.title"),
        ({"source_ids": [1]}, "dataset.source_ids.0"),
        ({"entity_defs": [{"name": "e"}]}, "dataset.entity_defs.0.title"),
        ({"_model_config": {}}, "dataset._model_config.kind"),
    ],
)
def test_bad_update_is_400_and_changes_nothing(admin, project, changes, field_name):
    dataset = make_dataset(admin)
    message = error(admin.post("/api/v1/datasets/acme/triage", json={"dataset": changes}), 400)
    assert field_name in message
    assert get(admin) == dataset


def test_bad_label_name_in_create_writes_nothing(admin, project):
    body = {"dataset": {"label_defs": [{"name": "ok"}, {"name": "A >  > B"}]}}
    assert "A >  > B" in error(admin.put("/api/v1/datasets/acme/triage", json=body), 400)
    body = {"dataset": {"label_defs": [{"name": "x" * 1025}]}}
    assert "at most 1024" in error(admin.put("/api/v1/datasets/acme/triage", json=body), 400)
    body = {"dataset": {"label_groups": [{"name": "bad group", "label_defs": []}]}}
    assert "bad group" in error(admin.put("/api/v1/datasets/acme/triage", json=body), 400)
    assert ok(admin.get("/api/v1/datasets"))["datasets"] == []


def test_missing_wrapper_bad_json_and_bad_name_are_400(admin, project):
    make_dataset(admin)
    assert "dataset" in error(admin.put("/api/v1/datasets/acme/new", json={}), 400)
    assert "dataset" in error(admin.post("/api/v1/datasets/acme/triage", json={}), 400)
    response = admin.put("/api/v1/datasets/acme/new", data="{nope", content_type="application/json")
    error(response, 400)
    assert "name" in error(admin.put("/api/v1/datasets/acme/bad%20name", json={"dataset": {}}), 400)
    assert "name" in error(admin.put("/api/v1/datasets/acme/bad.name", json={"dataset": {}}), 400)
    assert names(ok(admin.get("/api/v1/datasets"))["datasets"]) == ["triage"]


# --- permissions -----------------------------------------------------------------------

def _all_routes(client, dataset_id):
    return (
        client.get("/api/v1/datasets/acme"),
        client.get("/api/v1/datasets/acme/triage"),
        client.get(f"/api/v1/datasets/id:{dataset_id}"),
        client.put("/api/v1/datasets/acme/new", json={"dataset": {}}),
        client.post("/api/v1/datasets/acme/triage", json={"dataset": {"title": "x"}}),
        client.delete("/api/v1/datasets/acme/triage"),
        client.delete(f"/api/v1/datasets/id:{dataset_id}"),
        client.get("/api/v1/datasets/acme/triage/model-tags"),
        put_labels(client, [{"name": "x"}]),
    )


def test_another_projects_token_is_403_everywhere(app, admin, project):
    dataset = make_dataset(admin)
    make_project(admin, "other")
    outsider = make_user(app, "outsider", projects={"other": [
        "voc-readonly", "voc", "datasets-admin", "model-admin", "sources-read",
    ]})
    for response in _all_routes(outsider, dataset["id"]):
        # By id, a dataset of a project one has no code on answers like an unknown id.
        error(response, 404 if "id:" in response.request.path else 403)
    assert ok(outsider.get("/api/v1/datasets"))["datasets"] == []
    assert get(admin) == dataset


def test_reading_is_not_writing(app, admin, project):
    dataset = make_dataset(admin)
    reader = make_user(app, "reader", projects={"acme": ["voc-readonly"]})
    assert ok(reader.get("/api/v1/datasets"))["datasets"] == [dataset]
    assert ok(reader.get("/api/v1/datasets/acme"))["datasets"] == [dataset]
    assert get(reader) == dataset
    assert ok(reader.get(f"/api/v1/datasets/id:{dataset['id']}"))["dataset"] == dataset
    ok(reader.get("/api/v1/datasets/acme/triage/model-tags"))
    assert "'voc'" in error(reader.put("/api/v1/datasets/acme/new", json={"dataset": {}}), 403)
    assert "'datasets-admin'" in error(
        reader.post("/api/v1/datasets/acme/triage", json={"dataset": {}}), 403
    )
    error(reader.delete("/api/v1/datasets/acme/triage"), 403)
    error(reader.delete(f"/api/v1/datasets/id:{dataset['id']}"), 403)
    error(put_labels(reader, [{"name": "x"}]), 403)
    assert get(admin) == dataset


def test_creating_is_not_administering(app, admin, project):
    editor = make_user(app, "editor", projects={"acme": ["voc"]})
    dataset = make_dataset(editor)
    ok(put_labels(editor, [{"name": "x"}]))
    error(editor.get("/api/v1/datasets/acme/triage"), 403)
    error(editor.post("/api/v1/datasets/acme/triage", json={"dataset": {}}), 403)
    error(editor.delete(f"/api/v1/datasets/id:{dataset['id']}"), 403)
    assert names(get(admin)["label_defs"]) == ["x"]


def test_no_codes_at_all(app, admin, project):
    dataset = make_dataset(admin)
    nobody = make_user(app, "nobody")
    assert ok(nobody.get("/api/v1/datasets"))["datasets"] == []
    for response in _all_routes(nobody, dataset["id"]):
        error(response, 404 if "id:" in response.request.path else 403)


def test_copy_annotations_from_needs_read_access(app, admin, project):
    make_project(admin, "other")
    origin = make_dataset(admin, "other", "origin")
    user = make_user(app, "user", projects={"acme": ["voc"]})
    body = {"dataset": {"copy_annotations_from": origin["id"]}}
    # A dataset of a project the user has no code on answers like an unknown id.
    error(user.put("/api/v1/datasets/acme/triage", json=body), 404)
    assert names(ok(admin.get("/api/v1/datasets/acme"))["datasets"]) == []


def test_401_without_or_with_wrong_token(anon, admin, project):
    dataset = make_dataset(admin)
    bad = {"Authorization": "Bearer nope"}
    for response in _all_routes(anon, dataset["id"]) + (anon.get("/api/v1/datasets"),):
        error(response, 401)
    error(anon.get("/api/v1/datasets/acme/triage", headers=bad), 401)
    error(anon.put("/api/v1/datasets/acme/new", json={"dataset": {}}, headers=bad), 401)
    assert get(admin) == dataset
