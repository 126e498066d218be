"""`reinfer-clone export` / `import`: the JSONL of contract §15, resumable."""
from __future__ import annotations

import os
from datetime import datetime, timezone

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from reinfer_clone.cli import main
from reinfer_clone.models import ModelVersion, StoredPrediction
from reinfer_clone.models import Comment as CommentRow
from reinfer_clone.services import comments as comments_service
from reinfer_clone.services import jsonl, labellings as labellings_service

from .helpers import comment, iterate_comments, label, make_dataset, make_project, make_source, ok, sync

CREATED = datetime(2024, 3, 5, 9, 6, 10, tzinfo=timezone.utc)
# Contract §15.1, verbatim.
EXAMPLE = (
    '{"comment":{"id":"msg-0001","uid":"5f0c2a9e7b31d4c8.msg-0001","thread_id":"t-77",'
    '"timestamp":"2024-03-04T17:20:00Z","messages":[{"body":{"text":"I was charged twice."},'
    '"subject":{"text":"Refund?"},"from":"kim@example.org","to":["help@acme.test"],'
    '"sent_at":"2024-03-04T17:20:00Z"}],"user_properties":{"string:Channel":"email",'
    '"number:Order Total":42.5},"created_at":"2024-03-05T09:06:10Z","has_annotations":true},'
    '"labelling":[{"group":"default","assigned":[{"name":"Billing > Refund","sentiment":"negative"}]}]}'
)


class Interrupted(Exception):
    """Stands in for a crash or Ctrl-C."""


@pytest.fixture
def frozen_clock(monkeypatch):
    """created_at is server time; fixing it makes two exports comparable byte for byte."""
    monkeypatch.setattr(comments_service, "utcnow", lambda: CREATED)


@pytest.fixture
def setup(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    dataset = make_dataset(admin, "acme", "triage", source_ids=[source["id"]], has_sentiment=True)
    return source, dataset


def run(config, *args):
    return CliRunner().invoke(main, ["--database-url", config.database_url, *args])


def export(config, dataset, path, *args):
    result = run(config, "export", dataset, "-o", str(path), "--no-progress", *args)
    assert result.exit_code == 0, result.output
    return result


def import_(config, source, path, *args):
    result = run(config, "import", source, "-i", str(path), "--no-progress", *args)
    assert result.exit_code == 0, result.output
    return result


def write_labelling(client, uid, dataset="triage", **body):
    return ok(client.post(f"/api/_private/datasets/acme/{dataset}/labellings/{uid}", json=body))


def labelling_of(client, uid, dataset="triage"):
    results = ok(client.get(f"/api/_private/datasets/acme/{dataset}/labellings",
                            query_string={"id": uid}))["results"]
    assert len(results) == 1, results
    return results[0]


def write_lines(path, lines):
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))


SPAN = {"utf16_byte_end": 8, "content_part": "body", "char_end": 4, "message_index": 0,
        "utf16_byte_start": 0, "char_start": 0}


def rich_comments():
    """Markup, thread ids, typed and blank properties, attachments, a second-offset
    sent_at and fields the client does not model."""
    return [
        comment(1, id="msg-0001", timestamp="2024-03-04T17:20:00.5Z", thread_id="t-77",
                messages=[{"from": "kim@example.org", "to": ["help@acme.test"], "x-extra": "dropped",
                           "language": None, "subject": {"text": "Refund?"},
                           "body": {"text": "I was charged twice.",
                                    "text_markup": {"b": 1, "a": [{"z": 1, "y": 2}]}},
                           "signature": {"text": "Kim", "text_markup": None},
                           "sent_at": "2024-03-04T18:20:00+01:00"}],
                user_properties={"string:Channel": "email", "number:Order Total": 42.5,
                                 "number:Count": 7, "string:Empty": "", "string:Blank": "  "},
                attachments=[{"name": "a.pdf", "size": 3, "content_type": "application/pdf",
                              "attachment_reference": None}]),
        comment(2, id="plain.2/x", thread_id=""),
        comment(3, id="other-group", messages=[{"body": {"text": "Ünïcode ✓"}, "cc": [], "bcc": None}]),
    ]


def annotate(client, sid, extra_group_only=True):
    write_labelling(client, f"{sid}.msg-0001",
                    labelling=[{"group": "default",
                                "assigned": [label("Billing > Refund", "negative")],
                                "dismissed": [label("Card")]}],
                    entities={"assigned": [{"name": "order", "formatted_value": "42", "spans": [SPAN]}],
                              "dismissed": []})
    if extra_group_only:
        # Only a non-default group: the client leaves `labelling` out of the line
        # (so such labels cannot round-trip).
        write_labelling(client, f"{sid}.other-group",
                        labelling=[{"group": "extra", "assigned": [label("Urgent")]}])


def test_export_writes_the_client_line_format(tmp_path, config, admin, setup, frozen_clock):
    source, _ = setup
    sid = source["id"]
    ok(sync(admin, rich_comments()))
    annotate(admin, sid)
    out = tmp_path / "out.jsonl"
    result = export(config, "acme/triage", out)
    assert "Exported 3 comments" in result.output
    created = "2024-03-05T09:06:10Z"
    expected = [
        {"comment": {
            "id": "msg-0001", "uid": f"{sid}.msg-0001", "thread_id": "t-77",
            "timestamp": "2024-03-04T17:20:00.500Z",
            "messages": [{"body": {"text": "I was charged twice.",
                                   "text_markup": {"a": [{"y": 2, "z": 1}], "b": 1}},
                          "subject": {"text": "Refund?"}, "signature": {"text": "Kim"},
                          "from": "kim@example.org", "to": ["help@acme.test"],
                          "sent_at": "2024-03-04T17:20:00Z"}],
            "user_properties": {"string:Channel": "email", "number:Order Total": 42.5, "number:Count": 7.0},
            "attachments": [{"name": "a.pdf", "size": 3, "content_type": "application/pdf"}],
            "created_at": created, "has_annotations": True},
         "labelling": [{"group": "default", "assigned": [label("Billing > Refund", "negative")],
                        "dismissed": [label("Card")]}],
         "entities": {"assigned": [{"name": "order", "formatted_value": "42", "spans": [
             {"content_part": "body", "message_index": 0, "char_start": 0, "char_end": 4,
              "utf16_byte_start": 0, "utf16_byte_end": 8}]}]}},
        {"comment": {"id": "plain.2/x", "uid": f"{sid}.plain.2/x", "thread_id": "",
                     "timestamp": "2024-03-04T00:00:02Z", "messages": [{"body": {"text": "message 2"}}],
                     "created_at": created, "has_annotations": False}},
        {"comment": {"id": "other-group", "uid": f"{sid}.other-group", "timestamp": "2024-03-04T00:00:03Z",
                     "messages": [{"body": {"text": "Ünïcode ✓"}, "cc": []}],
                     "created_at": created, "has_annotations": True}},
    ]
    # Sorted by timestamp; compared as bytes, so key order counts too.
    expected = [expected[1], expected[2], expected[0]]
    data = out.read_bytes()
    assert data == b"".join(orjson.dumps(line) + b"\n" for line in expected)
    text = data.decode("utf-8")
    assert '"number:Count":7.0' in text and "Ünïcode ✓" in text  # floats; no ASCII escapes
    assert not os.path.exists(str(out) + ".partial")


def test_export_filters_and_predictions(tmp_path, config, admin, setup, session):
    source, dataset = setup
    sid = source["id"]
    other = make_source(admin, "acme", "other")
    ok(admin.post("/api/v1/datasets/acme/triage", json={"dataset": {"source_ids": [sid, other["id"]]}}))
    ok(sync(admin, [comment(i) for i in range(4)]))
    ok(sync(admin, [comment(i, id=f"o-{i}") for i in range(2)], source="other"))
    write_labelling(admin, f"{sid}.c-00001", labelling=[{"group": "default", "assigned": [label("A")]}])

    out = tmp_path / "all.jsonl"
    export(config, "acme/triage", out)
    ids = [orjson.loads(line)["comment"]["id"] for line in out.read_bytes().splitlines()]
    assert ids == ["c-00000", "c-00001", "c-00002", "c-00003", "o-0", "o-1"]  # source by source
    export(config, "acme/triage", out, "--source", "other", "--source", sid)
    ids = [orjson.loads(line)["comment"]["id"] for line in out.read_bytes().splitlines()]
    assert ids == ["o-0", "o-1", "c-00000", "c-00001", "c-00002", "c-00003"]
    export(config, "acme/triage", out, "--source", "acme/inbox",
           "--from", "2024-03-04T00:00:01Z", "--to", "2024-03-04T01:00:02+01:00")
    ids = [orjson.loads(line)["comment"]["id"] for line in out.read_bytes().splitlines()]
    assert ids == ["c-00001", "c-00002"]

    model = ModelVersion(dataset_id=dataset["id"], version=1, artifact=b"")
    session.add(model)
    session.flush()
    pks = dict(session.execute(
        select(CommentRow.external_id, CommentRow.pk).where(CommentRow.source_id == sid)).all())
    for external_id, pk in pks.items():
        session.add(StoredPrediction(model_pk=model.pk, comment_pk=pk, labels=[
            {"name": "A > B", "probability": 0.75, "sentiment": -0.5},
            {"name": "C", "probability": 1, "sentiment": 0.25}]))
    session.commit()
    export(config, "acme/triage", out, "--source", "inbox", "--predictions")
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    predicted = [{"name": ["A", "B"], "sentiment": -0.5, "probability": 0.75},
                 {"name": ["C"], "sentiment": 0.25, "probability": 1.0}]
    assert lines[0]["labelling"] == [{"group": "default", "predicted": predicted}]
    assert lines[1]["labelling"] == [{"group": "default", "assigned": [label("A")], "predicted": predicted}]
    assert b'"probability":1.0' in out.read_bytes()
    # Without the flag, only what reviewers said.
    export(config, "acme/triage", out, "--source", "inbox")
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert "labelling" not in lines[0]
    assert lines[1]["labelling"] == [{"group": "default", "assigned": [label("A")]}]


def test_export_errors(tmp_path, config, admin, setup):
    out = tmp_path / "out.jsonl"
    cases = [
        (("acme/ghost",), "not found"),
        (("nope",), "is not PROJECT/NAME"),
        (("acme/triage", "--source", "ghost"), "'ghost' is not a source of dataset 'acme/triage'"),
        (("acme/triage", "--from", "2024-03-04T00:00:00"), "no timezone offset"),
        (("acme/triage", "--to", "yesterday"), "not an RFC 3339 datetime"),
    ]
    for args, message in cases:
        result = run(config, "export", *args, "-o", str(out), "--no-progress")
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    assert not out.exists()
    result = run(config, "export", "acme/triage", "-o", str(tmp_path / "missing" / "x.jsonl"))
    assert result.exit_code != 0 and "No such file or directory" in result.output


def test_round_trip(tmp_path, config, admin, setup, frozen_clock):
    source, _ = setup
    sid = source["id"]
    ok(sync(admin, rich_comments() + [comment(i) for i in range(4, 9)]))
    annotate(admin, sid, extra_group_only=False)
    write_labelling(admin, f"{sid}.c-00005", labelling=[
        {"group": "default", "assigned": [label("Parent > Child", "negative"), label("Other")],
         "dismissed": [label("Parent", "negative")]},
        {"group": "extra", "assigned": [label("Urgent")]}])
    write_labelling(admin, f"{sid}.c-00006", labelling=[{"group": "default", "dismissed": [label("X")]}])
    first = tmp_path / "first.jsonl"
    export(config, "acme/triage", first)

    copy = make_source(admin, "acme", "copy")
    make_dataset(admin, "acme", "copy", source_ids=[copy["id"]], has_sentiment=True)
    result = import_(config, "acme/copy", first, "--dataset", "acme/copy", "--batch-size", "3")
    assert result.output.strip() == "new: 8, updated: 0, unchanged: 0, skipped: 0, annotated: 3"
    second = tmp_path / "second.jsonl"
    export(config, "acme/copy", second)

    expected = first.read_text(encoding="utf-8").replace(f'"uid":"{sid}.', f'"uid":"{copy["id"]}.')
    assert expected != first.read_text(encoding="utf-8")
    assert second.read_text(encoding="utf-8").splitlines() == expected.splitlines()
    # The labels arrived as labellings of the second dataset, label defs included.
    assert labelling_of(admin, f"{copy['id']}.c-00005", "copy")["labelling"] == [
        {"group": "default", "assigned": [label("Parent > Child", "negative"), label("Other")],
         "dismissed": [label("Parent", "negative")]},
        {"group": "extra", "assigned": [label("Urgent")], "dismissed": []}]
    names = [d["name"] for d in ok(admin.get("/api/v1/datasets/acme/copy"))["dataset"]["label_defs"]]
    assert set(names) == {"Billing", "Billing > Refund", "Card", "Parent", "Parent > Child", "Other", "X"}


def test_import_the_contract_example(tmp_path, config, admin, setup, frozen_clock):
    source, _ = setup
    path = tmp_path / "example.jsonl"
    path.write_text(EXAMPLE + "\n", encoding="utf-8")
    result = import_(config, "acme/inbox", path, "--dataset", "acme/triage")
    assert result.output.strip() == "new: 1, updated: 0, unchanged: 0, skipped: 0, annotated: 1"
    line = orjson.loads(EXAMPLE)
    stored = ok(admin.get("/api/v1/sources/acme/inbox/comments/msg-0001"))["comment"]
    assert stored["uid"] == f"{source['id']}.msg-0001"  # the file's source id is ignored
    assert stored["thread_id"] == "t-77" and stored["timestamp"] == "2024-03-04T17:20:00Z"
    assert stored["messages"] == line["comment"]["messages"]
    assert stored["user_properties"] == line["comment"]["user_properties"]
    assert stored["has_annotations"] is True
    annotated = labelling_of(admin, stored["uid"])
    assert annotated["labelling"] == [{"group": "default", "dismissed": [],
                                       "assigned": [label("Billing > Refund", "negative")]}]
    names = [d["name"] for d in ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["label_defs"]]
    assert names == ["Billing", "Billing > Refund"]
    # Exported again, it is the same line (the server clock was fixed at the file's created_at).
    out = tmp_path / "again.jsonl"
    export(config, "acme/triage", out)
    assert out.read_text(encoding="utf-8") == EXAMPLE.replace("5f0c2a9e7b31d4c8", source["id"]) + "\n"


def test_import_legacy_labelling_entities_forms_and_ignored_keys(tmp_path, config, admin, setup):
    source, _ = setup
    sid = source["id"]
    entities = {"assigned": [{"name": "order", "formatted_value": "42", "spans": [SPAN]}]}
    forms = [{"group": "default", "assigned": [{"label": label("A"), "captures": []}]}]
    path = tmp_path / "in.jsonl"
    write_lines(path, [
        {"comment": comment(1), "labelling": {"assigned": [label("Legacy")]},
         "audio_path": "/nowhere/a.wav"},
        {"comment": comment(2), "labelling": [{"group": "default", "assigned": [label("G")],
                                               "predicted": [{"name": ["P"], "probability": 0.5}]}],
         "entities": entities},
        {"comment": comment(3), "moon_forms": forms},
        # Nothing assigned or dismissed: the client posts no labelling for it.
        {"comment": comment(4), "labelling": [{"group": "default"}], "entities": {"assigned": []}},
    ])
    result = import_(config, "acme/inbox", path, "--dataset", "acme/triage")
    assert result.output.strip() == "new: 4, updated: 0, unchanged: 0, skipped: 0, annotated: 3"
    assert labelling_of(admin, f"{sid}.c-00001")["labelling"] == [
        {"group": "default", "assigned": [label("Legacy")], "dismissed": []}]
    second = labelling_of(admin, f"{sid}.c-00002")
    assert second["labelling"] == [{"group": "default", "assigned": [label("G")], "dismissed": []}]
    assert second["entities"] == {"assigned": entities["assigned"], "dismissed": []}
    assert labelling_of(admin, f"{sid}.c-00003")["moon_forms"] == forms
    fourth = labelling_of(admin, f"{sid}.c-00004")
    assert "labelling" not in fourth and fourth["comment"]["has_annotations"] is False
    # Without --dataset the annotations are not read at all.
    ok(admin.delete("/api/v1/sources/acme/inbox/comments", query_string=[("id", "c-00001")]))
    result = import_(config, "acme/inbox", path)
    assert result.output.strip() == "new: 1, updated: 0, unchanged: 0, skipped: 3, annotated: 0"
    assert "labelling" not in labelling_of(admin, f"{sid}.c-00001")


def test_import_skips_existing_unless_overwrite(tmp_path, config, admin, setup):
    source, _ = setup
    sid = source["id"]
    ok(sync(admin, [comment(1, thread_id="old"), comment(2)]))
    write_labelling(admin, f"{sid}.c-00001", labelling=[{"group": "default", "assigned": [label("Keep")]}])
    path = tmp_path / "in.jsonl"
    write_lines(path, [{"comment": comment(1, thread_id="new")}, {"comment": comment(2)},
                       {"comment": comment(3)}, {"comment": comment(3, thread_id="repeat")}])
    result = import_(config, "acme/inbox", path, "--dataset", "acme/triage")
    assert result.output.strip() == "new: 1, updated: 0, unchanged: 0, skipped: 3, annotated: 0"
    got = {c["id"]: c for c in iterate_comments(admin)}
    assert got["c-00001"]["thread_id"] == "old" and "thread_id" not in got["c-00003"]

    result = import_(config, "acme/inbox", path, "--overwrite")
    assert result.output.strip() == "new: 0, updated: 2, unchanged: 2, skipped: 0, annotated: 0"
    got = {c["id"]: c for c in iterate_comments(admin)}
    assert got["c-00001"]["thread_id"] == "new" and got["c-00003"]["thread_id"] == "repeat"
    assert labelling_of(admin, f"{sid}.c-00001")["labelling"][0]["assigned"] == [label("Keep")]


def test_bad_lines_name_line_and_field_and_write_nothing_of_their_batch(tmp_path, config, admin, setup):
    good = [{"comment": comment(i)} for i in range(1, 4)] + [
        {"comment": comment(4), "labelling": [{"group": "default", "assigned": [label("Line4")]}]}]
    cases = [
        ({"comment": comment(9, timestamp="2024-03-04T00:00:00")}, "Line 5: comment.timestamp:"),
        ({"comment": comment(9, user_properties={"number:x": "1"})}, "Line 5: comment.user_properties.number:x:"),
        ({"comment": {"timestamp": "2024-03-04T00:00:00Z", "messages": []}}, "Line 5: comment.id:"),
        ({"id": "x"}, "Line 5: comment: Missing data"),
        ([1], "Line 5: must be a JSON object"),
        ({"comment": comment(9), "labelling": [{"group": "default", "assigned": [label("A", "meh")]}]},
         "Line 5: labelling.0.assigned.0.sentiment:"),
        ({"comment": comment(9), "labelling": "A"}, "Line 5: labelling:"),
        ({"comment": comment(9), "entities": {"assigned": "x"}}, "Line 5: entities.assigned:"),
        # Caught only while writing, after the batch's comments were flushed: still nothing kept.
        ({"comment": comment(9), "labelling": [{"group": "default", "assigned": [label("A >  > B")]}]},
         "Line 5: labelling: Invalid label name"),
        ({"comment": comment(9), "labelling": [{"group": "bad group!", "assigned": [label("A")]}]},
         "Line 5: labelling: Invalid label group name"),
    ]
    path = tmp_path / "in.jsonl"
    for bad, message in cases:
        ok(admin.delete("/api/v1/sources/acme/inbox/comments",
                        query_string=[("id", f"c-{i:05d}") for i in range(10)]))
        write_lines(path, good + [bad] + [{"comment": comment(6)}])
        result = run(config, "import", "acme/inbox", "-i", str(path), "--no-progress",
                     "--dataset", "acme/triage", "--batch-size", "3", "--restart")
        assert result.exit_code != 0 and message in result.output, (bad, result.output)
        # Lines 1-3 were a committed batch; lines 4-6 are the failed one.
        assert [c["id"] for c in iterate_comments(admin)] == ["c-00001", "c-00002", "c-00003"], bad
        # Line 4's labelling (and the label def it made) went with its batch.
        assert ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["label_defs"] == [], bad
    ok(admin.delete("/api/v1/sources/acme/inbox/comments",
                    query_string=[("id", f"c-{i:05d}") for i in range(10)]))
    path.write_bytes(orjson.dumps({"comment": comment(1)}) + b"\n{not json\n")
    result = run(config, "import", "acme/inbox", "-i", str(path), "--no-progress", "--restart")
    assert result.exit_code != 0 and "Line 2: not valid JSON" in result.output
    assert iterate_comments(admin) == []


def test_import_errors(tmp_path, config, admin, setup):
    make_source(admin, "acme", "outside")
    path = tmp_path / "in.jsonl"
    write_lines(path, [{"comment": comment(1)}])
    cases = [
        (("acme/outside", "--dataset", "acme/triage"),
         "dataset 'acme/triage' does not contain source 'acme/outside'"),
        (("acme/ghost",), "not found"),
        (("acme/inbox", "--dataset", "acme/ghost"), "not found"),
        (("inbox",), "is not PROJECT/NAME"),
        (("acme/inbox", "--batch-size", "0"), "--batch-size"),
        (("acme/inbox", "--batch-size", "5000"), "--batch-size"),
    ]
    for args, message in cases:
        result = run(config, "import", *args, "-i", str(path), "--no-progress")
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    result = run(config, "import", "acme/inbox", "-i", str(tmp_path / "none.jsonl"))
    assert result.exit_code != 0 and "does not exist" in result.output
    assert iterate_comments(admin) == [] and iterate_comments(admin, source="outside") == []


def test_import_into_a_missing_source_says_to_create_it_first(tmp_path, config, admin, setup):
    path = tmp_path / "in.jsonl"
    write_lines(path, [{"comment": comment(1)}])
    result = run(config, "import", "acme/ghost", "-i", str(path), "--no-progress")
    assert result.exit_code != 0
    assert "writes to the database directly" in result.output
    assert "PUT /api/v1/sources/acme/ghost" in result.output
    result = run(config, "import", "acme/inbox", "--dataset", "acme/ghost", "-i", str(path), "--no-progress")
    assert result.exit_code != 0 and "PUT /api/v1/datasets/acme/ghost" in result.output
    assert iterate_comments(admin) == []


def _interrupt_on_call(monkeypatch, target, name, call):
    """Make `target.name` raise Interrupted on its `call`-th call (counting from 1)."""
    original = getattr(target, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise Interrupted()
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapper)


def test_export_resumes_after_an_interruption(tmp_path, config, admin, setup, monkeypatch):
    source, _ = setup
    other = make_source(admin, "acme", "other")
    ok(admin.post("/api/v1/datasets/acme/triage",
                  json={"dataset": {"source_ids": [source["id"], other["id"]]}}))
    ok(sync(admin, [comment(i) for i in range(8)]))
    ok(sync(admin, [comment(i, id=f"o-{i}") for i in range(5)], source="other"))
    write_labelling(admin, f"{source['id']}.c-00002",
                    labelling=[{"group": "default", "assigned": [label("A")]}])
    monkeypatch.setattr(jsonl.export, "EXPORT_PAGE", 3)
    reference = tmp_path / "reference.jsonl"
    export(config, "acme/triage", reference)
    assert len(reference.read_bytes().splitlines()) == 13

    out = tmp_path / "out.jsonl"
    state = tmp_path / "out.jsonl.partial"
    with monkeypatch.context() as patch:
        # Call 1 records the start; 2-3 pages 1-2; call 4 dies after page 3 is on
        # disk but before the state says so.
        _interrupt_on_call(patch, jsonl.export, "save_state", 4)
        result = run(config, "export", "acme/triage", "-o", str(out), "--no-progress")
        assert isinstance(result.exception, Interrupted)
    assert state.exists()
    recorded = orjson.loads(state.read_bytes())
    assert recorded["lines"] == 6 and len(out.read_bytes().splitlines()) == 8
    with open(out, "ab") as f:
        # Half of a big line: longer than all that is left to write.
        f.write(b'{"comment":{"id":"torn' + b"x" * len(reference.read_bytes()))
    # Other options may not continue someone else's export.
    result = run(config, "export", "acme/triage", "-o", str(out), "--no-progress", "--predictions")
    assert result.exit_code != 0 and "--restart" in result.output

    result = export(config, "acme/triage", out)
    assert "Exported 13 comments" in result.output
    assert out.read_bytes() == reference.read_bytes()
    assert not state.exists()

    # Interrupted in the second source this time, then started over with --restart.
    with monkeypatch.context() as patch:
        _interrupt_on_call(patch, jsonl.export, "save_state", 5)
        run(config, "export", "acme/triage", "-o", str(out), "--no-progress")
    assert orjson.loads(state.read_bytes())["source"] == 1
    export(config, "acme/triage", out, "--restart")
    assert out.read_bytes() == reference.read_bytes() and not state.exists()


def _source_snapshot(admin, source, dataset):
    """Comments (without what differs between sources) and their labellings."""
    out = []
    for c in iterate_comments(admin, source=source, include_markup="true"):
        annotated = labelling_of(admin, c["uid"], dataset)
        for key in ("uid", "source_id", "created_at", "last_modified"):
            c.pop(key)
        out.append((c, annotated.get("labelling")))
    return out


def test_import_resumes_after_an_interruption(tmp_path, config, admin, setup, monkeypatch):
    source, _ = setup
    reference = make_source(admin, "acme", "reference")
    make_dataset(admin, "acme", "refset", source_ids=[reference["id"]])
    lines = [{"comment": comment(i, thread_id=f"t{i % 3}"),
              "labelling": [{"group": "default", "assigned": [label(f"L{i % 4}")]}]} for i in range(10)]
    path = tmp_path / "in.jsonl"
    write_lines(path, lines)
    import_(config, "acme/reference", path, "--dataset", "acme/refset", "--batch-size", "3")
    assert not (tmp_path / "in.jsonl.import-state").exists()

    state = tmp_path / "custom.state"
    args = ("--dataset", "acme/triage", "--batch-size", "3", "--state", str(state))
    with monkeypatch.context() as patch:
        # The 5th labelling is in the second batch: it dies mid-transaction.
        _interrupt_on_call(patch, labellings_service, "write", 5)
        result = run(config, "import", "acme/inbox", "-i", str(path), "--no-progress", *args)
        assert isinstance(result.exception, Interrupted)
    assert [c["id"] for c in iterate_comments(admin)] == ["c-00000", "c-00001", "c-00002"]
    recorded = orjson.loads(state.read_bytes())
    assert recorded["line"] == 3 and recorded["offset"] == sum(len(orjson.dumps(x)) + 1 for x in lines[:3])

    result = import_(config, "acme/inbox", path, *args)
    assert result.output.strip() == "new: 10, updated: 0, unchanged: 0, skipped: 0, annotated: 10"
    assert not state.exists()
    assert _source_snapshot(admin, "inbox", "triage") == _source_snapshot(admin, "reference", "refset")


def test_import_resume_checks_the_file_before_the_offset(tmp_path, config, admin, setup, monkeypatch):
    path = tmp_path / "in.jsonl"
    lines = [{"comment": comment(i)} for i in range(6)]
    write_lines(path, lines)

    def interrupted_run():
        with monkeypatch.context() as patch:
            # State call 2 follows batch 2's commit: that batch is in, the state misses it.
            _interrupt_on_call(patch, jsonl.importing, "save_state", 2)
            result = run(config, "import", "acme/inbox", "-i", str(path), "--no-progress",
                         "--batch-size", "2")
            assert isinstance(result.exception, Interrupted)

    interrupted_run()
    assert len(iterate_comments(admin)) == 4
    # Lines after the recorded offset may change: the resume reads them as they are now.
    write_lines(path, lines[:5] + [{"comment": comment(5, thread_id="edited")}])
    result = import_(config, "acme/inbox", path, "--batch-size", "2")
    # Batch 2 is read again; its comments are there already.
    assert result.output.strip() == "new: 4, updated: 0, unchanged: 0, skipped: 2, annotated: 0"
    got = {c["id"]: c for c in iterate_comments(admin)}
    assert len(got) == 6 and got["c-00005"]["thread_id"] == "edited"

    ok(admin.delete("/api/v1/sources/acme/inbox/comments",
                    query_string=[("id", f"c-{i:05d}") for i in range(6)]))
    interrupted_run()
    # Lines before it may not: resuming would skip or repeat lines.
    write_lines(path, [{"comment": comment(i, thread_id="edited")} for i in range(6)])
    result = run(config, "import", "acme/inbox", "-i", str(path), "--no-progress")
    assert result.exit_code != 0 and "changed before the point" in result.output
    assert "--restart" in result.output
    result = import_(config, "acme/inbox", path, "--restart", "--overwrite")
    assert result.output.strip() == "new: 2, updated: 4, unchanged: 0, skipped: 0, annotated: 0"
    assert not (tmp_path / "in.jsonl.import-state").exists()
