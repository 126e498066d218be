"""Streams (contract §12) through HTTP: metadata, fetch / advance / reset,
filters, predictions, exceptions, permissions, and concurrent consumers."""
import random
import threading
from datetime import datetime, timedelta, timezone

import pytest

from reinfer_clone import pagination
from reinfer_clone.models import Comment, Stream, StreamException
from reinfer_clone.services import streams as streams_service

from ..helpers import (
    HEX_RE,
    Client,
    comment,
    error,
    is_utc,
    make_dataset,
    make_project,
    make_source,
    make_user,
    ok,
    parse_utc,
    sync,
    train_tiny_model,
)

DS = "/api/v1/datasets/acme/triage"
BASE = f"{DS}/streams"


@pytest.fixture
def source(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    return source


def create(client, **stream):
    return client.put(BASE, json={"stream": stream})


def fetch(client, size=16, name="s"):
    return client.post(f"{BASE}/{name}/fetch", json={"size": size})


def advance(client, sequence_id, name="s"):
    return client.post(f"{BASE}/{name}/advance", json={"sequence_id": sequence_id})


def reset(client, to, name="s"):
    return client.post(f"{BASE}/{name}/reset", json={"to_comment_created_at": to})


def ids(batch):
    return [r["comment"]["id"] for r in batch["results"]]


def position(sequence_id):
    """The arrival number inside a sequence id (white-box, for ordering checks)."""
    return pagination.decode(streams_service.SEQUENCE_KIND, sequence_id)[1]


def props(i, **user_properties):
    return comment(i, user_properties=user_properties)


# --- metadata ------------------------------------------------------------------------------

def test_create_get_list_update_delete(admin, source):
    body = ok(create(admin, name="refunds", title="Refund requests", description="for the bot",
                     comment_filter={"reviewed": "only_unreviewed", "sources": [source["id"]], "timestamp": {}}))
    stream = body["stream"]
    assert HEX_RE.match(stream["id"])
    dataset_id = ok(admin.get(DS))["dataset"]["id"]
    assert stream["dataset_id"] == dataset_id and stream["name"] == "refunds"
    assert stream["title"] == "Refund requests" and stream["description"] == "for the bot"
    assert stream["comment_filter"] == {"reviewed": "only_unreviewed", "sources": [source["id"]], "timestamp": {}}
    assert is_utc(stream["created_at"]) and stream["updated_at"] == stream["created_at"]
    assert stream["label_threshold_filter"] is None and "model" not in stream
    assert ok(admin.get(f"{BASE}/refunds"))["stream"] == stream

    bare = ok(create(admin, name="all"))["stream"]
    assert bare["title"] == "" and bare["description"] == "" and bare["comment_filter"] == {}
    assert [s["name"] for s in ok(admin.get(BASE))["streams"]] == ["all", "refunds"]

    # Empty and same-value updates change nothing, not even updated_at.
    assert ok(admin.post(f"{BASE}/refunds", json={"stream": {}}))["stream"] == stream
    assert ok(admin.post(f"{BASE}/refunds", json={"stream": {"title": "Refund requests"}}))["stream"] == stream
    updated = ok(admin.post(f"{BASE}/refunds", json={"stream": {"title": "Refunds", "comment_filter": None}}))["stream"]
    assert updated["title"] == "Refunds" and updated["comment_filter"] == {}
    assert updated["description"] == "for the bot" and updated["created_at"] == stream["created_at"]
    assert parse_utc(updated["updated_at"]) >= parse_utc(stream["updated_at"])
    assert ok(admin.get(f"{BASE}/refunds"))["stream"] == updated
    assert ok(admin.post(f"{BASE}/refunds", json={"stream": {"title": None}}))["stream"]["title"] == ""

    assert ok(admin.delete(f"{BASE}/refunds")) == {"status": "ok"}
    assert error(admin.get(f"{BASE}/refunds"), 404) == "Stream 'acme/triage/refunds' not found."
    assert [s["name"] for s in ok(admin.get(BASE))["streams"]] == ["all"]
    # The name is free again.
    ok(create(admin, name="refunds"))


def test_create_and_update_errors_name_the_field(admin, source, session):
    ok(create(admin, name="s"))
    assert error(create(admin, name="s"), 409) == "Stream 'acme/triage/s' already exists."
    bad = [
        ({}, "stream"),
        ({"stream": {}}, "stream.name"),
        ({"stream": {"name": "has space"}}, "stream.name"),
        ({"stream": {"name": ""}}, "stream.name"),
        ({"stream": {"name": "x" * 257}}, "stream.name"),
        ({"stream": {"name": "n", "title": 5}}, "stream.title"),
        ({"stream": {"name": "n", "comment_filter": {"reviewed": "bogus"}}},
         "stream.comment_filter.reviewed: 'bogus' is not one of ['only_reviewed', 'only_unreviewed']"),
        ({"stream": {"name": "n", "comment_filter": ["x"]}}, "stream.comment_filter"),
        ({"stream": {"name": "n", "comment_filter": {"sources": ["0123456789abcdef"]}}},
         "stream.comment_filter.sources"),
        ({"stream": {"name": "n", "comment_filter": {"user_properties": {"Channel": {"one_of": ["a"]}}}}},
         "stream.comment_filter.user_properties.Channel"),
        ({"stream": {"name": "n", "comment_filter": {"timestamp": {"minimum": "2024-01-01T00:00:00"}}}},
         "stream.comment_filter.timestamp.minimum"),
        ({"stream": {"name": "n", "model": {"version": "1", "label_thresholds": []}}}, "stream.model.version"),
        ({"stream": {"name": "n", "model": {"label_thresholds": []}}}, "stream.model.version"),
        ({"stream": {"name": "n", "model": {"version": 1, "label_thresholds": []}}},
         "stream.model.version: the dataset has no trained model version 1"),
        ({"stream": {"name": "n", "model": {"version": 1, "label_thresholds": [{"name": [], "threshold": 0.5}]}}},
         "stream.model.label_thresholds.0.name"),
        ({"stream": {"name": "n", "model": {"version": 1, "label_thresholds": [{"name": ["A"], "threshold": 2}]}}},
         "stream.model.label_thresholds.0.threshold"),
    ]
    for body, field in bad:
        assert field in error(admin.put(BASE, json=body), 400), body
        stream = body.get("stream") or {}
        if "name" in stream:
            update = {k: v for k, v in stream.items() if k != "name"}
            if update:
                assert field in error(admin.post(f"{BASE}/s", json={"stream": update}), 400), update
    assert "stream" in error(admin.post(f"{BASE}/s", json={}), 400)
    assert "body is not valid JSON" in error(admin.put(BASE, data="{", content_type="application/json"), 400)
    # Nothing was written by the refused requests.
    assert [s["name"] for s in ok(admin.get(BASE))["streams"]] == ["s"]
    assert ok(admin.get(f"{BASE}/s"))["stream"]["comment_filter"] == {}
    assert session.query(Stream).count() == 1


def test_not_found(admin, source):
    ok(create(admin, name="s"))
    ghost = "/api/v1/datasets/acme/ghost/streams"
    assert "ghost" in error(admin.get(ghost), 404)
    assert "ghost" in error(admin.put(ghost, json={"stream": {"name": "s"}}), 404)
    for method, path, body in [
        ("GET", f"{BASE}/nope", None),
        ("POST", f"{BASE}/nope", {"stream": {}}),
        ("DELETE", f"{BASE}/nope", None),
        ("POST", f"{BASE}/nope/fetch", {"size": 1}),
        ("GET", f"{BASE}/nope/results", None),
        ("POST", f"{BASE}/nope/advance", {"sequence_id": "x"}),
        ("POST", f"{BASE}/nope/reset", {"to_comment_created_at": "2024-01-01T00:00:00Z"}),
        ("PUT", f"{BASE}/nope/exceptions", {"exceptions": []}),
        ("DELETE", f"{BASE}/nope/exceptions?uid=a.b", None),
    ]:
        assert error(admin.request(method, path, json=body), 404) == "Stream 'acme/triage/nope' not found.", path


# --- fetch, advance, reset -----------------------------------------------------------------

def test_new_stream_starts_now_and_fetch_does_not_move_the_cursor(admin, source):
    ok(sync(admin, [comment(i) for i in range(3)]))
    ok(create(admin, name="s"))
    empty = ok(fetch(admin))
    assert empty["results"] == [] and empty["filtered"] == 0 and empty["is_end_sequence"] is True
    assert isinstance(empty["sequence_id"], str) and empty["sequence_id"]
    ok(advance(admin, empty["sequence_id"]))  # valid though nothing was examined

    # Uploaded in three requests: stream order is upload order, not timestamp order.
    for i in (5, 4, 3):
        ok(sync(admin, [comment(i)]))
    first = ok(fetch(admin, size=2))
    assert ids(first) == ["c-00005", "c-00004"] and first["filtered"] == 0
    assert first["is_end_sequence"] is False
    assert all(isinstance(r["sequence_id"], str) for r in first["results"])
    assert "labels" not in first["results"][0] and set(first["results"][0]) == {"comment", "sequence_id"}
    got = first["results"][0]["comment"]
    assert got["uid"] == f"{source['id']}.c-00005" and got["messages"] == comment(5)["messages"]
    assert is_utc(got["created_at"]) and got["has_annotations"] is False
    assert first["sequence_id"] == first["results"][-1]["sequence_id"]
    # Fetching again without advancing gives the same batch.
    assert ok(fetch(admin, size=2)) == first

    ok(advance(admin, first["results"][0]["sequence_id"]))  # per-result id: just after c-00005
    assert ids(ok(fetch(admin, size=2))) == ["c-00004", "c-00003"]
    ok(advance(admin, first["sequence_id"]))
    last = ok(fetch(admin, size=5))
    assert ids(last) == ["c-00003"] and last["is_end_sequence"] is True
    ok(advance(admin, last["sequence_id"]))
    done = ok(fetch(admin))
    assert done["results"] == [] and done["is_end_sequence"] is True
    assert done["sequence_id"] == last["sequence_id"]
    # Updating a comment does not deliver it again.
    ok(sync(admin, [comment(4, thread_id="edited")]))
    assert ok(fetch(admin))["results"] == []


def test_fetch_size_limits(admin, source):
    ok(create(admin, name="s"))
    ok(sync(admin, [comment(i) for i in range(3)]))
    for size in (0, 1025, -1, "5", 2.5, True, None):
        assert "size" in error(fetch(admin, size=size), 400), size
    assert "size" in error(admin.post(f"{BASE}/s/fetch", json={}), 400)
    assert len(ok(fetch(admin, size=1024))["results"]) == 3
    assert len(ok(fetch(admin, size=1))["results"]) == 1


def test_filtered_comments_are_skipped_and_counted(admin, source):
    ok(create(admin, name="s", comment_filter={"user_properties": {"string:Channel": {"one_of": ["email"]}}}))
    ok(sync(admin, [props(0, **{"string:Channel": "chat"})]))
    ok(sync(admin, [props(1, **{"string:Channel": "email"})]))
    ok(sync(admin, [props(2, **{"string:Channel": "chat"})]))
    ok(sync(admin, [comment(3)]))  # no property: fails one_of
    ok(sync(admin, [props(4, **{"string:Channel": "email"})]))

    batch = ok(fetch(admin, size=3))
    assert ids(batch) == ["c-00001"] and batch["filtered"] == 2 and batch["is_end_sequence"] is False
    # The batch id covers the filtered comment after the last result.
    assert position(batch["sequence_id"]) > position(batch["results"][0]["sequence_id"])
    ok(advance(admin, batch["sequence_id"]))
    only_filtered = ok(fetch(admin, size=1))
    assert only_filtered["results"] == [] and only_filtered["filtered"] == 1
    # The client advances on an empty batch with filtered > 0: the id must work.
    ok(advance(admin, only_filtered["sequence_id"]))
    rest = ok(fetch(admin, size=10))
    assert ids(rest) == ["c-00004"] and rest["filtered"] == 0 and rest["is_end_sequence"] is True
    assert type(rest["filtered"]) is int


def test_review_state_filter_uses_this_dataset(admin, source):
    ok(create(admin, name="s", comment_filter={"reviewed": "only_unreviewed"}))
    ok(sync(admin, [comment(i) for i in range(3)]))
    ok(admin.post(f"/api/_private/datasets/acme/triage/labellings/{source['id']}.c-00001",
                  json={"labelling": [{"group": "default", "assigned": [{"name": "A", "sentiment": "positive"}]}]}))
    batch = ok(fetch(admin))
    assert ids(batch) == ["c-00000", "c-00002"] and batch["filtered"] == 1
    ok(admin.post(f"{BASE}/s", json={"stream": {"comment_filter": {"reviewed": "only_reviewed"}}}))
    batch = ok(fetch(admin))
    assert ids(batch) == ["c-00001"] and batch["filtered"] == 2
    assert batch["results"][0]["comment"]["has_annotations"] is True


def test_advance_never_moves_back_and_refuses_foreign_ids(admin, source):
    ok(create(admin, name="s"))
    ok(create(admin, name="other"))
    ok(sync(admin, [comment(i) for i in range(4)]))
    batch = ok(fetch(admin, size=4))
    early, late = batch["results"][0]["sequence_id"], batch["results"][2]["sequence_id"]
    ok(advance(admin, late))
    ok(advance(admin, early))  # stale: a no-op, not a step back
    assert ids(ok(fetch(admin))) == ["c-00003"]

    foreign = ok(fetch(admin, name="other"))["sequence_id"]
    assert error(advance(admin, foreign), 400) == \
        f"Invalid sequence_id: '{foreign}' was issued by another stream."
    for garbled in ("", "junk", late[:-1] + ("0" if late[-1] != "0" else "1"), late + "x",
                    pagination.encode("comments", ["2024", "x"])):
        assert "sequence_id" in error(advance(admin, garbled), 400), garbled
    stream_id = ok(admin.get(f"{BASE}/s"))["stream"]["id"]
    beyond = pagination.encode(streams_service.SEQUENCE_KIND, [stream_id, position(late) + 1000])
    assert "beyond every position" in error(advance(admin, beyond), 400)
    for body in ({}, {"sequence_id": 5}, {"sequence_id": None}):
        assert "sequence_id" in error(admin.post(f"{BASE}/s/advance", json=body), 400), body
    assert ids(ok(fetch(admin))) == ["c-00003"]


def test_reset_moves_to_the_first_comment_created_at_or_after(admin, source):
    ok(create(admin, name="s"))
    for i in range(4):
        ok(sync(admin, [comment(i)]))
    batch = ok(fetch(admin, size=4))
    created = [r["comment"]["created_at"] for r in batch["results"]]
    ok(advance(admin, batch["sequence_id"]))
    assert ok(fetch(admin))["results"] == []

    ok(reset(admin, created[2]))
    assert ids(ok(fetch(admin))) == ["c-00002", "c-00003"]
    # Just after c-00001's creation time: still c-00002 first (unless they share it).
    after_first = (parse_utc(created[1]) + timedelta(microseconds=1)).isoformat().replace("+00:00", "Z")
    expected = [f"c-{i:05d}" for i in range(4) if parse_utc(created[i]) >= parse_utc(after_first)]
    ok(reset(admin, after_first))
    assert ids(ok(fetch(admin))) == expected
    ok(reset(admin, "2000-01-01T00:00:00+02:00"))
    assert ids(ok(fetch(admin))) == [f"c-{i:05d}" for i in range(4)]
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    ok(reset(admin, future))
    assert ok(fetch(admin))["results"] == []
    ok(sync(admin, [comment(9)]))
    assert ids(ok(fetch(admin))) == ["c-00009"]

    for body in ({}, {"to_comment_created_at": "2024-01-01T00:00:00"}, {"to_comment_created_at": "yesterday"},
                 {"to_comment_created_at": 5}):
        assert "to_comment_created_at" in error(admin.post(f"{BASE}/s/reset", json=body), 400), body
    assert ids(ok(fetch(admin))) == ["c-00009"]


def test_deleted_comments_leave_and_numbers_are_never_reused(admin, source):
    ok(create(admin, name="s"))
    ok(sync(admin, [comment(0)]))
    ok(sync(admin, [comment(1)]))
    batch = ok(fetch(admin))
    ok(advance(admin, batch["sequence_id"]))
    # The newest consumed comment goes; the next upload must still come after the cursor.
    ok(admin.delete("/api/v1/sources/acme/inbox/comments?id=c-00001"))
    ok(sync(admin, [comment(2)]))
    assert ids(ok(fetch(admin))) == ["c-00002"]
    ok(sync(admin, [comment(3)]))
    ok(admin.delete("/api/v1/sources/acme/inbox/comments?id=c-00002"))
    assert ids(ok(fetch(admin))) == ["c-00003"]


def test_a_comment_committed_late_is_still_delivered(admin, source, database):
    """The in-flight case, made deterministic: a comment whose created_at is
    older than comments already consumed becomes visible only afterwards (as
    when its upload transaction commits late). A cursor on created_at would
    skip it; arrival numbers deliver it."""
    ok(create(admin, name="s"))
    ok(sync(admin, [comment(0)]))
    early = datetime.now(timezone.utc)
    ok(sync(admin, [comment(1)]))
    batch = ok(fetch(admin))
    assert ids(batch) == ["c-00000", "c-00001"]
    ok(advance(admin, batch["sequence_id"]))
    with database.session() as s:
        s.add(Comment(source_id=source["id"], external_id="late", timestamp=early, messages=[],
                      user_properties={}, attachments=[], content_hash="0" * 64, created_at=early,
                      last_modified=early))
        s.commit()
    late = ok(fetch(admin))
    assert ids(late) == ["late"]
    assert parse_utc(late["results"][0]["comment"]["created_at"]) < parse_utc(batch["results"][1]["comment"]["created_at"])
    ok(advance(admin, late["sequence_id"]))
    assert ok(fetch(admin))["results"] == []


def test_results_route_stops_at_either_limit(admin, source):
    ok(create(admin, name="s", comment_filter={"user_properties": {"number:n": {"minimum": 1}}}))
    ok(sync(admin, [props(0, **{"number:n": 0})]))
    for i in range(1, 6):
        ok(sync(admin, [props(i, **{"number:n": i % 2})]))  # odd ones pass
    body = ok(admin.get(f"{BASE}/s/results", query_string={"max_results": 2}))
    assert ids(body) == ["c-00001", "c-00003"] and body["filtered"] == 2 and body["is_end_sequence"] is False
    body = ok(admin.get(f"{BASE}/s/results", query_string={"max_results": 5, "max_filtered": 1}))
    assert ids(body) == [] and body["filtered"] == 1
    body = ok(admin.get(f"{BASE}/s/results"))
    assert ids(body) == ["c-00001", "c-00003", "c-00005"] and body["is_end_sequence"] is True
    # Like fetch, it does not move the cursor.
    assert ids(ok(fetch(admin))) == ["c-00001", "c-00003", "c-00005"]
    for query in ({"max_results": 0}, {"max_results": "x"}, {"max_filtered": 1025}, {"max_results": "1.5"}):
        field = next(iter(query))
        assert field in error(admin.get(f"{BASE}/s/results", query_string=query), 400), query


# --- exceptions ------------------------------------------------------------------------------

def test_exceptions_are_recorded_and_removed(admin, source, session):
    ok(create(admin, name="s"))
    uid = f"{source['id']}.c-00001"
    body = {"exceptions": [{"metadata": {"type": "Bad Format"}, "uid": uid},
                           {"metadata": {"type": "Timeout"}, "uid": uid},
                           {"metadata": {"type": "Bad Format"}, "uid": f"{source['id']}.c.2"}]}
    assert ok(admin.put(f"{BASE}/s/exceptions", json=body)) == {"status": "ok"}
    ok(admin.put(f"{BASE}/s/exceptions", json=body))  # the same again: no duplicates

    def stored():
        session.expire_all()
        return sorted((e.uid, e.type) for e in session.query(StreamException).all())

    assert stored() == [(f"{source['id']}.c-00001", "Bad Format"), (f"{source['id']}.c-00001", "Timeout"),
                        (f"{source['id']}.c.2", "Bad Format")]
    for bad, field in [({}, "exceptions"), ({"exceptions": {}}, "exceptions"),
                       ({"exceptions": [{"uid": uid}]}, "exceptions.0.metadata"),
                       ({"exceptions": [{"uid": uid, "metadata": {}}]}, "exceptions.0.metadata.type"),
                       ({"exceptions": [{"uid": uid, "metadata": {"type": 3}}]}, "exceptions.0.metadata.type"),
                       ({"exceptions": [{"metadata": {"type": "x"}}]}, "exceptions.0.uid"),
                       ({"exceptions": [{"metadata": {"type": "x"}, "uid": uid},
                                        {"metadata": {"type": "x"}, "uid": "nodot"}]}, "exceptions.1.uid")]:
        assert field in error(admin.put(f"{BASE}/s/exceptions", json=bad), 400), bad
    assert len(stored()) == 3  # a refused request writes nothing

    assert ok(admin.delete(f"{BASE}/s/exceptions", query_string={"uid": uid})) == {"status": "ok"}
    assert stored() == [(f"{source['id']}.c.2", "Bad Format")]
    ok(admin.delete(f"{BASE}/s/exceptions", query_string={"uid": "never.seen"}))
    assert "uid" in error(admin.delete(f"{BASE}/s/exceptions"), 400)
    assert len(stored()) == 1
    # They go with their stream.
    ok(admin.delete(f"{BASE}/s"))
    assert stored() == []


# --- predictions ---------------------------------------------------------------------------

@pytest.fixture
def trained(admin, source):
    return train_tiny_model(admin, source["id"])


def test_labels_pass_their_thresholds(admin, source, trained):
    thresholds = [{"name": ["Billing", "Refund"], "threshold": 0.3}, {"name": ["Delivery"], "threshold": 0.99}]
    stream = ok(create(admin, name="s", model={"version": trained, "label_thresholds": thresholds}))["stream"]
    assert stream["model"] == {"version": trained, "label_thresholds": thresholds}
    ok(create(admin, name="plain"))
    texts = ["please refund the payment for order 77. thank you, great service",
             "parcel 5 has not arrived yet. this is unacceptable",
             "hello there"]
    ok(sync(admin, [comment(100 + i, messages=[{"body": {"text": t}}]) for i, t in enumerate(texts)]))
    batch = ok(fetch(admin))
    assert ids(batch) == ["c-00100", "c-00101", "c-00102"]
    # The same labels predict-comments gives for the listed labels and thresholds.
    expected = ok(admin.post(f"{DS}/labellers/{trained}/predict-comments", json={
        "uids": [r["comment"]["uid"] for r in batch["results"]], "labels": thresholds}))["predictions"]
    assert [r["labels"] for r in batch["results"]] == [p["labels"] for p in expected]
    refund = batch["results"][0]["labels"]
    names = [x["name"] for x in refund]
    assert ["Billing", "Refund"] in names and ["Billing"] in names  # the parent comes along
    for labels in (r["labels"] for r in batch["results"]):
        for x in labels:
            assert x["name"] in (["Billing"], ["Billing", "Refund"], ["Delivery"])  # unlisted ones dropped
            assert isinstance(x["name"], list) and 0 <= x["probability"] <= 1
            if x["name"] == ["Billing", "Refund"]:
                assert x["probability"] >= 0.3
            if x["name"] == ["Delivery"]:
                assert x["probability"] >= 0.99
    assert all("labels" not in r for r in ok(fetch(admin, name="plain"))["results"])

    # Removing the model removes the labels.
    ok(admin.post(f"{BASE}/s", json={"stream": {"model": None}}))
    assert "model" not in ok(admin.get(f"{BASE}/s"))["stream"]
    assert all("labels" not in r for r in ok(fetch(admin))["results"])
    for model, field in [({"version": trained + 1, "label_thresholds": []}, "stream.model.version"),
                         ({"version": trained, "label_thresholds": [{"name": ["Nope"], "threshold": 0.5}]},
                          "stream.model.label_thresholds.0.name: 'Nope' is not a label of model version")]:
        assert field in error(create(admin, name="x", model=model), 400)
        assert field in error(admin.post(f"{BASE}/s", json={"stream": {"model": model}}), 400)
    assert "model" not in ok(admin.get(f"{BASE}/s"))["stream"]


# --- permissions ---------------------------------------------------------------------------

def test_permissions(app, admin, anon, source):
    ok(create(admin, name="s"))
    ok(sync(admin, [comment(0)]))
    routes = [
        ("GET", BASE, None),
        ("PUT", BASE, {"stream": {"name": "new"}}),
        ("GET", f"{BASE}/s", None),
        ("POST", f"{BASE}/s", {"stream": {}}),
        ("DELETE", f"{BASE}/s", None),
        ("POST", f"{BASE}/s/fetch", {"size": 1}),
        ("GET", f"{BASE}/s/results", None),
        ("POST", f"{BASE}/s/advance", {"sequence_id": "x"}),
        ("POST", f"{BASE}/s/reset", {"to_comment_created_at": "2024-01-01T00:00:00Z"}),
        ("PUT", f"{BASE}/s/exceptions", {"exceptions": []}),
        ("DELETE", f"{BASE}/s/exceptions?uid=a.b", None),
    ]
    stranger = make_user(app, "stranger", projects={"other": ["streams-read", "streams-write",
                                                              "streams-consume", "sources-read"]})
    for method, path, body in routes:
        assert anon.request(method, path, json=body).status_code == 401, path
        assert error(stranger.request(method, path, json=body), 403), path

    labels_reader = make_user(app, "labels", projects={"acme": ["voc-readonly"]})
    reader = make_user(app, "reader", projects={"acme": ["streams-read"]})
    writer = make_user(app, "writer", projects={"acme": ["streams-write"]})
    consumer = make_user(app, "consumer", projects={"acme": ["streams-consume", "sources-read"]})
    blind = make_user(app, "blind", projects={"acme": ["streams-consume"]})

    assert [s["name"] for s in ok(labels_reader.get(BASE))["streams"]] == ["s"]
    assert [s["name"] for s in ok(reader.get(BASE))["streams"]] == ["s"]
    assert "streams-read" in error(labels_reader.get(f"{BASE}/s"), 403)
    assert ok(reader.get(f"{BASE}/s"))["stream"]["name"] == "s"
    assert "streams-write" in error(reader.put(BASE, json={"stream": {"name": "r"}}), 403)
    assert "streams-consume" in error(reader.post(f"{BASE}/s/fetch", json={"size": 1}), 403)

    assert ok(writer.put(BASE, json={"stream": {"name": "w"}}))["stream"]["name"] == "w"
    assert ok(writer.post(f"{BASE}/w", json={"stream": {"title": "T"}}))["stream"]["title"] == "T"
    assert "streams-consume" in error(writer.post(f"{BASE}/w/fetch", json={"size": 1}), 403)
    ok(writer.delete(f"{BASE}/w"))

    # Fetching reads comments: it needs sources-read on the sources' project too.
    assert "sources-read" in error(blind.post(f"{BASE}/s/fetch", json={"size": 1}), 403)
    assert "sources-read" in error(blind.get(f"{BASE}/s/results"), 403)
    ok(reset(admin, "2000-01-01T00:00:00Z"))
    batch = ok(consumer.post(f"{BASE}/s/fetch", json={"size": 1}))
    assert ids(batch) == ["c-00000"]
    ok(consumer.post(f"{BASE}/s/advance", json={"sequence_id": batch["sequence_id"]}))
    ok(blind.post(f"{BASE}/s/reset", json={"to_comment_created_at": "2000-01-01T00:00:00Z"}))
    assert "streams-write" in error(consumer.delete(f"{BASE}/s"), 403)


def test_streams_go_with_their_dataset(admin, source, session):
    ok(create(admin, name="s"))
    ok(admin.delete(DS))
    assert session.query(Stream).count() == 0
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    assert ok(admin.get(BASE))["streams"] == []


# --- concurrency -----------------------------------------------------------------------------

def test_concurrent_syncs_and_consumers_deliver_each_comment_exactly_once(app, admin, source):
    """Two threads sync comments while one consumer fetches and advances and two
    others fetch and send stale advances. Every comment passing the filter
    reaches the advancing consumer exactly once, every other one is counted as
    filtered exactly once, and no consumer sees the cursor move backwards."""
    ok(create(admin, name="s", comment_filter={"user_properties": {"string:Keep": {"one_of": ["yes"]}}}))
    syncers, rounds, per_batch = 2, 12, 6
    done = threading.Event()
    consumed = threading.Event()
    advanced: list[str] = []  # sequence ids the advancing consumer has advanced to
    failures: list = []

    def client():
        return Client(app.test_client(), admin.token)

    def call(c, method, path, json=None, **kw):
        response = c.request(method, path, json=json, **kw)
        if response.status_code != 200:
            failures.append((path, response.status_code, response.get_data(as_text=True)))
            raise AssertionError(failures[-1])
        return response.get_json()

    def syncer(n):
        c = client()
        for r in range(rounds):
            batch = [comment(0, id=f"w{n}-r{r}-{k}", user_properties={"string:Keep": "yes" if k % 3 else "no"})
                     for k in range(per_batch)]
            call(c, "POST", "/api/v1/sources/acme/inbox/sync", {"comments": batch})

    def consumer():
        c, seen, filtered, positions = client(), [], 0, []
        while True:
            finished = done.is_set()  # read before fetching: a later fetch sees every sync
            batch = call(c, "POST", f"{BASE}/s/fetch", {"size": random.randint(1, 7)})
            seen.extend(ids(batch))
            filtered += batch["filtered"]
            positions.append(position(batch["sequence_id"]))
            if batch["results"] or batch["filtered"]:
                call(c, "POST", f"{BASE}/s/advance", {"sequence_id": batch["sequence_id"]})
                advanced.append(batch["sequence_id"])
            elif finished and batch["is_end_sequence"]:
                consumed.set()
                return seen, filtered, positions

    def observer():
        c, positions = client(), []
        while not consumed.is_set():
            # size 1: the batch position is the first comment after the cursor, or the cursor.
            batch = call(c, "POST", f"{BASE}/s/fetch", {"size": 1})
            if not batch["results"] and not batch["filtered"]:
                positions.append(position(batch["sequence_id"]))
            else:  # just below the first comment examined
                positions.append(position(batch["sequence_id"]) - 0.5)
            if advanced:
                call(c, "POST", f"{BASE}/s/advance", {"sequence_id": random.choice(advanced)})
            if failures:
                break
        return positions

    results = {}

    def run(name, target, *args):
        try:
            results[name] = target(*args)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append((name, repr(exc)))
            consumed.set()

    sync_threads = [threading.Thread(target=run, args=(f"sync{n}", syncer, n)) for n in range(syncers)]
    others = [threading.Thread(target=run, args=("consumer", consumer))] + [
        threading.Thread(target=run, args=(f"observer{n}", observer)) for n in range(2)]
    for t in sync_threads + others:
        t.start()
    for t in sync_threads:
        t.join()
    done.set()
    for t in others:
        t.join(timeout=600)
    assert not failures, failures[:3]

    seen, filtered, positions = results["consumer"]
    kept = {f"w{n}-r{r}-{k}" for n in range(syncers) for r in range(rounds) for k in range(per_batch) if k % 3}
    assert sorted(seen) == sorted(kept)  # each once: no duplicates, none missing
    assert filtered == syncers * rounds * per_batch - len(kept)
    assert positions == sorted(positions)
    for n in range(2):
        observed = results[f"observer{n}"]
        assert observed == sorted(observed), f"observer{n} saw the cursor go back"
