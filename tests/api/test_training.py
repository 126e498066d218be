"""Training, model versions and tags, validation and predictions, through HTTP.

A small synthetic two-level taxonomy keeps training to a second or two; the
embedding model is the real one (loaded once per process).
"""
import math

import pytest
from click.testing import CliRunner

from reinfer_clone.cli import main
from reinfer_clone.models import TrainingJob
from reinfer_clone.services import training

from ..helpers import TINY_TOPICS as TOPICS
from ..helpers import comment, error, make_dataset, make_project, make_source, make_user, ok, sync

DS = "/api/v1/datasets/acme/triage"
PRIVATE = "/api/_private/datasets/acme/triage"

HAPPY = "thank you so much, great service"
ANGRY = "this is unacceptable, I am furious"


def text_comment(i, text):
    return comment(i, messages=[{"body": {"text": text}}])


def corpus():
    """(comment, label, sentiment) triples: 12 per label, half happy, half angry."""
    out, i = [], 0
    for label, templates in TOPICS.items():
        for k in range(12):
            mood, sentiment = (HAPPY, "positive") if k % 2 == 0 else (ANGRY, "negative")
            text = f"{templates[k % len(templates)].format(n=1000 + i)}. {mood}"
            out.append((text_comment(i, text), label, sentiment))
            i += 1
    return out


@pytest.fixture
def source(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    return source


def label_all(admin, source, items):
    for c, label, sentiment in items:
        ok(admin.post(f"{PRIVATE}/labellings/{source['id']}.{c['id']}",
                      json={"labelling": [{"group": "default",
                                           "assigned": [{"name": label, "sentiment": sentiment}]}]}))


@pytest.fixture
def labelled(admin, source):
    items = corpus()
    ok(sync(admin, [c for c, _, _ in items]))
    label_all(admin, source, items)
    return source, items


def train(client):
    return client.post(f"{DS}/train", json={"wait": True})


def predict(client, texts, version="latest", **body):
    docs = [{"messages": [{"body": {"text": t}}]} for t in texts]
    return client.post(f"{DS}/labellers/{version}/predict", json={"documents": docs, **body})


def assert_hierarchy(labels):
    """Contract §11.2 on one prediction output (list-form names)."""
    probabilities = {" > ".join(x["name"]): x["probability"] for x in labels}
    for name, p in probabilities.items():
        assert math.isfinite(p) and 0.0 <= p <= 1.0
        if " > " in name:
            parent = name.split(" > ")[0]
            assert parent in probabilities, f"{name} returned without {parent}"
            assert probabilities[parent] >= p
    keys = [(-x["probability"], " > ".join(x["name"])) for x in labels]
    assert keys == sorted(keys)


def test_untrained_dataset_has_no_versions(admin, source):
    assert ok(admin.post(f"{PRIVATE}/labellers", json={}))["labellers"] == []
    assert ok(admin.get(f"{DS}/model-tags"))["model_tags"] == []
    for path in (f"{PRIVATE}/labellers/latest/validation", f"{DS}/labellers/1/validation"):
        assert error(admin.get(path), 404) == "model version not found"
    assert error(predict(admin, ["hello"]), 404) == "model version not found"
    assert error(admin.post(f"{DS}/labellers/live/predict-comments", json={"uids": []}), 404) \
        == "model version not found"


def test_training_without_labels_fails_and_records_why(admin, source):
    ok(sync(admin, [comment(1)]))
    message = error(train(admin), 422)
    assert message.startswith("Training failed: The dataset has no reviewed comments")
    jobs = ok(admin.post(f"{DS}/train", json={}), 202)["job"]
    assert jobs["status"] == "queued"
    assert ok(admin.post(f"{PRIVATE}/labellers", json={}))["labellers"] == []


def test_train_and_predict_with_hierarchy_and_sentiment(admin, labelled):
    body = ok(train(admin))
    model = body["model"]
    assert model["version"] == 1 and model["reviewed_size"] == 48 and model["num_labels"] == 6
    assert body["job"]["status"] == "succeeded" and body["job"]["model_version"] == 1
    assert ok(admin.get(f"{DS}/train/{body['job']['id']}"))["job"]["status"] == "succeeded"
    assert ok(admin.post(f"{PRIVATE}/labellers", json={}))["labellers"] == [{"version": 1}]

    result = ok(predict(admin, ["please refund order 77, thank you so much, great service",
                                "parcel 5 arrived broken, this is unacceptable, I am furious"]))
    assert result["model"]["version"] == 1 and result["model"]["time"].endswith("Z")
    first, second = (p["labels"] for p in result["predictions"])
    for labels in (first, second):
        assert_hierarchy(labels)
        assert len(labels) == 6  # no threshold: every label
    assert first[0]["name"] in (["Billing"], ["Billing", "Refund"])
    assert second[0]["name"] in (["Delivery"], ["Delivery", "Damaged"])
    top_first = next(x for x in first if x["name"] == ["Billing", "Refund"])
    top_second = next(x for x in second if x["name"] == ["Delivery", "Damaged"])
    assert top_first["probability"] > 0.5 and top_second["probability"] > 0.5
    # Sentiment learnt from the annotations' signs.
    assert top_first["sentiment"] > 0 > top_second["sentiment"]
    assert all(-1 <= x["sentiment"] <= 1 for x in first + second)


def test_thresholds_and_label_filters(admin, labelled):
    ok(train(admin))
    texts = ["I need a copy of invoice 12. thank you so much, great service"]
    high = ok(predict(admin, texts, threshold=0.99))["predictions"][0]["labels"]
    assert all(x["probability"] >= 0.99 for x in high if len(x["name"]) == 2)
    assert_hierarchy(high)
    auto = ok(predict(admin, texts, threshold="auto"))["predictions"][0]["labels"]
    assert auto and all(isinstance(x["auto_thresholds"], list) for x in auto)
    assert_hierarchy(auto)
    only = ok(predict(admin, texts, labels=[{"name": ["Billing", "Invoice"], "threshold": 0.0}]))
    assert [x["name"] for x in only["predictions"][0]["labels"]] == [["Billing"], ["Billing", "Invoice"]]

    for body, field in (({"threshold": 1.5}, "threshold"), ({"threshold": "high"}, "threshold"),
                        ({"threshold": True}, "threshold"),
                        ({"labels": [{"name": ["Nope"], "threshold": 0.5}]}, "labels.0.name"),
                        ({"labels": [{"name": [], "threshold": 0.5}]}, "labels.0.name"),
                        ({"labels": [{"name": ["Billing"], "threshold": 2}]}, "labels.0.threshold")):
        assert field in error(predict(admin, texts, **body), 400)
    assert "documents" in error(admin.post(f"{DS}/labellers/1/predict", json={}), 400)
    assert "documents.0.messages" in error(
        admin.post(f"{DS}/labellers/1/predict", json={"documents": [{"messages": []}]}), 400)


def test_predict_comments_one_per_uid_in_order(admin, labelled):
    source, items = labelled
    ok(train(admin))
    uids = [f"{source['id']}.{c['id']}" for c, _, _ in items[::7]][::-1]
    body = ok(admin.post(f"{DS}/labellers/1/predict-comments", json={"uids": uids, "threshold": "auto"}))
    assert [p["uid"] for p in body["predictions"]] == uids
    for p in body["predictions"]:
        assert_hierarchy(p["labels"])
        assert all("auto_thresholds" in x for x in p["labels"])
    # Comments it was trained on come back with their own label on top.
    wanted = {f"{source['id']}.{c['id']}": label for c, label, _ in items}
    for p in body["predictions"]:
        names = [" > ".join(x["name"]) for x in p["labels"] if len(x["name"]) == 2]
        assert names and names[0] == wanted[p["uid"]]

    assert error(admin.post(f"{DS}/labellers/1/predict-comments",
                            json={"uids": [f"{source['id']}.missing"]}), 404) \
        == f"Comment '{source['id']}.missing' not found."
    assert "uids.0" in error(admin.post(f"{DS}/labellers/1/predict-comments",
                                        json={"uids": ["0123456789abcdef.x"]}), 400)
    assert "uids" in error(admin.post(f"{DS}/labellers/1/predict-comments",
                                      json={"uids": ["a.b"] * 513}), 400)


def test_versions_are_immutable_and_tags_move(admin, labelled):
    source, items = labelled
    ok(train(admin))
    text = ["the invoice 9 has a wrong address. this is unacceptable, I am furious"]
    before = ok(predict(admin, text, version="1"))["predictions"]
    # New labels change what a retrain learns.
    extra = [(text_comment(500 + k, f"my card {k} was blocked at the shop"), "Card > Blocked", "negative")
             for k in range(6)]
    ok(sync(admin, [c for c, _, _ in extra]))
    label_all(admin, source, extra)
    assert ok(train(admin))["model"]["version"] == 2
    assert ok(predict(admin, text, version="1"))["predictions"] == before
    assert ok(predict(admin, text, version="latest"))["model"]["version"] == 2
    assert len(ok(predict(admin, text, version="2"))["predictions"][0]["labels"]) == 8

    tag = ok(admin.put(f"{DS}/model-tags/staging", json={"version": 1}))["model_tag"]
    assert tag["name"] == "staging" and tag["version"] == 1 and tag["updated_at"].endswith("Z")
    assert ok(predict(admin, text, version="staging"))["model"]["version"] == 1
    # `live` falls back to the latest version until it is tagged.
    assert ok(predict(admin, text, version="live"))["model"]["version"] == 2
    ok(admin.put(f"{DS}/model-tags/live", json={"version": 1}))
    assert ok(predict(admin, text, version="live"))["model"]["version"] == 1
    ok(admin.put(f"{DS}/model-tags/staging", json={"version": 2}))
    tags = ok(admin.get(f"{DS}/model-tags"))["model_tags"]
    assert [(t["name"], t["version"]) for t in tags] == [("live", 1), ("staging", 2)]
    assert error(predict(admin, text, version="prod"), 404) == "model version not found"
    assert error(predict(admin, text, version="3"), 404) == "model version not found"

    assert "version" in error(admin.put(f"{DS}/model-tags/prod", json={"version": 7}), 400)
    assert "version" in error(admin.put(f"{DS}/model-tags/prod", json={"version": "1"}), 400)
    assert "version" in error(admin.put(f"{DS}/model-tags/prod", json={}), 400)
    assert "tag" in error(admin.put(f"{DS}/model-tags/latest", json={"version": 1}), 400)
    assert "tag" in error(admin.put(f"{DS}/model-tags/a.b", json={"version": 1}), 400)


def test_failed_job_keeps_previous_version(admin, labelled, monkeypatch, session):
    ok(train(admin))
    from reinfer_clone import classifier

    def broken(*args, **kwargs):
        raise RuntimeError("out of cheese")

    monkeypatch.setattr(classifier, "train", broken)
    assert error(train(admin), 422) == "Training failed: RuntimeError: out of cheese"
    failed = session.query(TrainingJob).filter_by(status="failed").one()
    assert failed.error == "RuntimeError: out of cheese" and failed.finished_at is not None
    assert ok(admin.post(f"{PRIVATE}/labellers", json={}))["labellers"] == [{"version": 1}]
    assert ok(predict(admin, ["refund please"]))["model"]["version"] == 1
    status = ok(admin.get(f"{DS}/train/{failed.id}"))["job"]
    assert status["status"] == "failed" and status["error"] == "RuntimeError: out of cheese"


def test_validation_uses_held_out_comments(admin, labelled):
    from reinfer_clone.classifier import split_of

    source, items = labelled
    ok(train(admin))
    body = ok(admin.get(f"{PRIVATE}/labellers/latest/validation"))
    assert [d["name"] for d in body["label_groups"][0]["label_defs"]] == [
        "Billing", "Billing > Refund", "Billing > Invoice", "Delivery", "Delivery > Late",
        "Delivery > Damaged"]
    validation = body["validation"]
    held_out = sum(split_of(f"{source['id']}.{c['id']}") == "test" for c, _, _ in items)
    assert validation["version"] == 1 and validation["reviewed_size"] == 48
    assert validation["test_size"] == held_out and validation["train_size"] == 48 - held_out
    assert validation["model_rating"]["quality"] in ("none", "poor", "average", "good", "excellent")
    assert 0 <= validation["model_rating"]["score"] <= 100
    assert ok(admin.get(f"{DS}/labellers/1/validation")) == body

    curve = ok(admin.post(f"{PRIVATE}/labellers/1/label-validation",
                          json={"label": "Billing > Refund"}))["label_validation"]
    assert len(curve["thresholds"]) == len(curve["precisions"]) == len(curve["recalls"])
    assert curve["thresholds"] == sorted(curve["thresholds"], reverse=True)
    same = ok(admin.post(f"{PRIVATE}/labellers/1/label-validation",
                         json={"label": ["Billing", "Refund"]}))["label_validation"]
    assert same == curve
    assert "label" in error(admin.post(f"{PRIVATE}/labellers/1/label-validation",
                                       json={"label": "Nope"}), 400)
    assert "label" in error(admin.post(f"{PRIVATE}/labellers/1/label-validation", json={}), 400)


def client_lookup(curve, threshold):
    """What `re get stream-stats` does: the first point whose threshold <= t."""
    i = next((i for i, t in enumerate(curve["thresholds"]) if t <= threshold), None)
    assert i is not None, f"Could not find threshold {threshold}"
    return curve["precisions"][i], curve["recalls"][i]


def test_label_validation_curves_reach_zero_for_every_label(admin, labelled, session):
    from reinfer_clone.models import ModelVersion

    ok(train(admin))
    names = [d["name"] for d in ok(admin.get(f"{PRIVATE}/labellers/1/validation"))
             ["label_groups"][0]["label_defs"]]
    assert "Billing" in names and "Delivery" in names  # parents included
    for name in names:
        curve = ok(admin.post(f"{PRIVATE}/labellers/1/label-validation",
                              json={"label": name}))["label_validation"]
        thresholds = curve["thresholds"]
        assert len(thresholds) == len(curve["precisions"]) == len(curve["recalls"]) >= 2
        assert all(a > b for a, b in zip(thresholds, thresholds[1:])), name
        assert thresholds[-1] == 0.0 and 0.0 < thresholds[0] <= 1.0
        assert all(0.0 <= x <= 1.0 for x in curve["precisions"] + curve["recalls"])
        for t in (0.0, 0.3, 0.5, 0.99):
            client_lookup(curve, t)
        # Everything passes at 0: all held-out positives are found. The held-out split
        # follows the dataset's random id, so a label may have no held-out positive:
        # then precision and recall are 0 all the way down.
        has_positives = any(curve["precisions"])
        assert curve["recalls"][-1] == (1.0 if has_positives else 0.0), name

    # A version stored before curves reached 0 (lowest score 0.6; one label
    # with no curve at all) answers with the curve extended, the same point.
    version = session.query(ModelVersion).one()
    validation = dict(version.validation)
    labels = [dict(v) for v in validation["labels"]]
    labels[0].update(thresholds=[0.9, 0.6], precisions=[1.0, 0.5], recalls=[0.5, 1.0])
    labels[1].update(thresholds=[], precisions=[], recalls=[])
    version.validation = {**validation, "labels": labels}
    session.commit()
    old = ok(admin.post(f"{PRIVATE}/labellers/1/label-validation",
                        json={"label": labels[0]["name"]}))["label_validation"]
    assert old == {"thresholds": [0.9, 0.6, 0.0], "precisions": [1.0, 0.5, 0.5],
                   "recalls": [0.5, 1.0, 1.0]}
    assert client_lookup(old, 0.3) == (0.5, 1.0)
    empty = ok(admin.post(f"{PRIVATE}/labellers/1/label-validation",
                          json={"label": labels[1]["name"]}))["label_validation"]
    assert empty == {"thresholds": [0.0], "precisions": [0.0], "recalls": [0.0]}


def test_export_and_reviewed_read_carry_predictions(admin, labelled):
    source, items = labelled
    ok(train(admin))
    page = ok(admin.post(f"{DS}/export", json={"limit": 5}))["comments"]
    for item in page:
        labels = item["predictions"]["labels"]
        assert len(labels) == 6 and all(isinstance(x["name"], str) for x in labels)
        names = [x["name"] for x in labels]
        for x in labels:
            if " > " in x["name"]:
                parent = x["name"].split(" > ")[0]
                assert labels[names.index(parent)]["probability"] >= x["probability"]
    bulk = ok(admin.get(f"{PRIVATE}/labellings?source_id={source['id']}&return_predictions=true&limit=3"))
    for item in bulk["results"]:
        (entry,) = item["labelling"]
        assert entry["assigned"] and len(entry["predicted"]) == 6
        assert_hierarchy(entry["predicted"])
    plain = ok(admin.get(f"{PRIVATE}/labellings?source_id={source['id']}&limit=3"))
    assert all("predicted" not in g for item in plain["results"] for g in item["labelling"])
    assert "return_predictions" in error(
        admin.get(f"{PRIVATE}/labellings?source_id={source['id']}&return_predictions=maybe"), 400)


def test_queued_job_runs_in_the_worker_command(admin, labelled, database_url):
    job = ok(admin.post(f"{DS}/train", json={}), 202)["job"]
    assert job["status"] == "queued" and job["reason"] == "requested"
    # Asking again while it is queued reuses the job.
    assert ok(admin.post(f"{DS}/train", json={}), 202)["job"]["id"] == job["id"]
    result = CliRunner().invoke(main, ["--database-url", database_url, "worker", "--once"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"job {job['id']}: succeeded, version 1" in result.output
    done = ok(admin.get(f"{DS}/train/{job['id']}"))["job"]
    assert done["status"] == "succeeded" and done["model_version"] == 1
    assert done["stats"]["scored"] == 48  # the worker scores the dataset ahead of reads
    assert error(admin.get(f"{DS}/train/0123456789abcdef"), 404) == "Training job '0123456789abcdef' not found."


def test_claims_are_exclusive(admin, labelled, database):
    job = ok(admin.post(f"{DS}/train", json={}), 202)["job"]
    with database.session() as one, database.session() as two:
        first = training.claim(one, "worker-1")
        second = training.claim(two, "worker-2")
    assert first is not None and first.id == job["id"] and first.worker == "worker-1"
    assert second is None


def test_wait_runs_its_own_job_once_the_running_one_ends(admin, labelled, database):
    import threading

    running = ok(admin.post(f"{DS}/train", json={}), 202)["job"]
    with database.session() as s:
        assert training.claim(s, "elsewhere").id == running["id"]
    answers = []
    # A daemon thread: should the wait never end, the test fails instead of hanging.
    waiter = threading.Thread(target=lambda: answers.append(admin.post(f"{DS}/train", json={"wait": True})),
                              daemon=True)
    waiter.start()
    waiter.join(1.5)
    assert answers == []  # queued behind the running job of the same dataset
    training.run(database, running["id"])  # that job ends, as its worker would end it
    waiter.join(120)
    body = ok(answers[0])["job"]
    assert body["id"] != running["id"] and body["status"] == "succeeded" and body["model_version"] == 2


def test_worker_keeps_training_when_statistics_upkeep_fails(admin, labelled, database, monkeypatch):
    import threading

    from reinfer_clone.services import maintenance

    calls = []

    def broken(_database):
        calls.append(1)
        raise RuntimeError("permission denied to analyze")

    monkeypatch.setattr(maintenance, "analyze_stale", broken)
    job = ok(admin.post(f"{DS}/train", json={}), 202)["job"]
    worker = training.Worker(database, poll_seconds=0.05, maintenance_seconds=3600)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        for _ in range(1200):
            status = ok(admin.get(f"{DS}/train/{job['id']}"))["job"]["status"]
            if status in ("succeeded", "failed"):
                break
            thread.join(0.1)
    finally:
        worker.stopping.set()
        thread.join(60)
    assert status == "succeeded"
    assert calls == [1]  # tried once, then left to its own schedule


def test_labelling_schedules_one_debounced_retrain(app, admin, labelled, session):
    source, items = labelled
    assert session.query(TrainingJob).count() == 0  # retrain_delay < 0 in tests: off
    app.extensions["reinfer_clone.config"].retrain_delay = 60
    for c, label, sentiment in items[:3]:
        ok(admin.post(f"{PRIVATE}/labellings/{source['id']}.{c['id']}",
                      json={"labelling": [{"group": "default", "assigned": [{"name": label, "sentiment": sentiment}]}]}))
    (job,) = session.query(TrainingJob).all()
    assert job.status == "queued" and job.reason == "labelling"
    assert job.not_before > job.created_at  # not due yet: waits for labelling to go quiet
    with app.extensions["reinfer_clone.db"].session() as other:
        assert training.claim(other, "eager") is None


def test_permissions(app, admin, labelled, anon):
    ok(train(admin))
    reader = make_user(app, "reader", projects={"acme": ["voc-readonly", "sources-read"]})
    stranger = make_user(app, "stranger", projects={"other": ["voc-readonly", "model-admin"]})
    routes = [
        ("POST", f"{DS}/train", {"wait": False}),
        ("GET", f"{DS}/train/0123456789abcdef", None),
        ("PUT", f"{DS}/model-tags/live", {"version": 1}),
        ("POST", f"{PRIVATE}/labellers", {}),
        ("GET", f"{PRIVATE}/labellers/1/validation", None),
        ("GET", f"{DS}/labellers/1/validation", None),
        ("POST", f"{PRIVATE}/labellers/1/label-validation", {"label": "Billing"}),
        ("POST", f"{DS}/labellers/1/predict-comments", {"uids": []}),
        ("POST", f"{DS}/labellers/1/predict", {"documents": []}),
    ]
    for method, path, body in routes:
        assert anon.request(method, path, json=body).status_code == 401, path
        assert stranger.request(method, path, json=body).status_code == 403, path
    # Readers read, but neither train nor tag.
    assert "model-admin" in error(reader.post(f"{DS}/train", json={}), 403)
    assert "model-admin" in error(reader.put(f"{DS}/model-tags/live", json={"version": 1}), 403)
    assert ok(reader.post(f"{DS}/labellers/1/predict", json={"documents": []}))["predictions"] == []
    assert ok(reader.get(f"{DS}/labellers/1/validation"))["validation"]["version"] == 1


def test_low_confidence_order_is_the_teach_queue(admin, labelled):
    source, items = labelled
    ok(train(admin))
    fresh = [text_comment(900 + k, text) for k, text in enumerate([
        "hello, a question about something", "please refund the payment 4242, thank you",
        "parcel 17 arrived broken and wet", "my card does not work"])]
    ok(sync(admin, fresh))
    body = {"filter": {}, "order": {"kind": "low_confidence"}, "limit": 1}
    seen, sureness = [], []
    while True:
        page = ok(admin.post(f"{PRIVATE}/query", json=body))
        for result in page["results"]:
            seen.append(result["comment"]["id"])
            predicted = result["labelling"][0]["predicted"]
            sureness.append(min(abs(2 * x["probability"] - 1) for x in predicted))
        if "continuation" not in page:
            break
        body["continuation"] = page["continuation"]
    # Only the unreviewed comments, each once, least sure first.
    assert sorted(seen) == sorted(c["id"] for c in fresh)
    assert sureness == sorted(sureness)
