"""Bounded work per request: each configured limit answers a 413 or 400 naming
the setting, nothing is written, and within the limits the answers are whole."""
import pytest
from sqlalchemy import func, select

from reinfer_clone.api.support import DB_EXTENSION
from reinfer_clone.classifier import embedding
from reinfer_clone.models import CachedEmbedding, StoredPrediction
from reinfer_clone.services import ml, predictions

from ..helpers import (
    comment, error, make_dataset, make_project, make_source, make_user, ok, sync, train_tiny_model,
)

DS = "/api/v1/datasets/acme/triage"
PRIVATE = "/api/_private/datasets/acme/triage"
PREDICTED = "REINFER_CLONE_MAX_PREDICTED_LABELS"
LABELS = 6  # of the tiny model: three parents, three children


def settings(app):
    return app.extensions["reinfer_clone.config"]


@pytest.fixture
def source(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    return source


@pytest.fixture
def model(admin, source):
    return source, train_tiny_model(admin, source["id"])


@pytest.fixture
def reader(app):
    """The issue's caller: voc-readonly and sources-read on the project, nothing more."""
    return make_user(app, "reader", projects={"acme": ["voc-readonly", "sources-read"]})


def rows(app) -> tuple[int, int]:
    with app.extensions[DB_EXTENSION].session() as s:
        return (s.scalar(select(func.count()).select_from(StoredPrediction)),
                s.scalar(select(func.count()).select_from(CachedEmbedding)))


def documents(*texts):
    return [{"messages": [{"body": {"text": t}}]} for t in texts]


TEXTS = ["the parcel 12 arrived broken", "I was charged twice", "my card is blocked", "hello there"]


def test_predict_every_label_beyond_the_limit_is_413_naming_it(app, reader, model):
    settings(app).max_predicted_labels = 2 * LABELS + 1
    before = rows(app)
    message = error(reader.post(f"{DS}/labellers/1/predict", json={"documents": documents(*TEXTS[:3])}), 413)
    assert PREDICTED in message and f"3 x {LABELS} labels" in message
    assert reader.post(f"{DS}/labellers/1/predict",
                       json={"documents": documents(*TEXTS[:3])}).get_json()["limit"] == PREDICTED
    assert rows(app) == before
    body = ok(reader.post(f"{DS}/labellers/1/predict", json={"documents": documents(*TEXTS[:2])}))
    assert [len(p["labels"]) for p in body["predictions"]] == [LABELS, LABELS]
    assert body["model"]["version"] == 1


def test_predict_with_a_threshold_counts_the_labels_it_returns(app, reader, model):
    settings(app).max_predicted_labels = 2 * LABELS
    docs = documents(*TEXTS)
    # Four documents may be scored when few labels pass ...
    body = ok(reader.post(f"{DS}/labellers/1/predict", json={"documents": docs, "threshold": 0.5}))
    assert len(body["predictions"]) == 4
    assert sum(len(p["labels"]) for p in body["predictions"]) <= 2 * LABELS
    # ... but not when they all do.
    assert PREDICTED in error(reader.post(f"{DS}/labellers/1/predict",
                                          json={"documents": docs, "threshold": 0}), 413)


def test_chunked_scoring_gives_the_same_answer(app, reader, model, monkeypatch):
    docs = documents(*TEXTS, "a refund please", "where is my order")
    whole = ok(reader.post(f"{DS}/labellers/1/predict", json={"documents": docs}))
    # One document per chunk.
    monkeypatch.setattr(predictions, "SCORE_CELLS", 1)
    chunked = ok(reader.post(f"{DS}/labellers/1/predict", json={"documents": docs}))
    assert len(chunked["predictions"]) == len(docs)
    for a, b in zip(chunked["predictions"], whole["predictions"]):
        # float32 products may round differently in another batch shape: same labels, same order.
        assert [x["name"] for x in a["labels"]] == [x["name"] for x in b["labels"]]
        for x, y in zip(a["labels"], b["labels"]):
            assert x["probability"] == pytest.approx(y["probability"], abs=1e-6)
            assert x["sentiment"] == pytest.approx(y["sentiment"], abs=1e-5)


def test_predict_comments_limit(app, reader, model):
    source, _ = model
    uids = [f"{source['id']}.t-{i:05d}" for i in range(3)]
    settings(app).max_predicted_labels = 2 * LABELS
    before = rows(app)
    message = error(reader.post(f"{DS}/labellers/1/predict-comments", json={"uids": uids}), 413)
    assert PREDICTED in message and f"3 x {LABELS} labels" in message
    assert rows(app) == before
    # With a threshold the answer is counted, not refused up front; in request order, chunk by chunk.
    settings(app).max_predicted_labels = 1_000
    whole = ok(reader.post(f"{DS}/labellers/1/predict-comments", json={"uids": uids, "threshold": "auto"}))
    assert [p["uid"] for p in whole["predictions"]] == uids
    assert all(p["labels"] and "auto_thresholds" in p["labels"][0] for p in whole["predictions"])


def test_v2_inference_limit(app, reader, admin, model):
    model_id = ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["_labelf_model_id"]
    settings(app).max_predicted_labels = LABELS
    message = error(reader.post(f"/v2/models/{model_id}/inference", json={"texts": TEXTS[:2]}), 413)
    assert PREDICTED in message and f"2 texts x {LABELS} labels" in message
    assert len(ok(reader.post(f"/v2/models/{model_id}/inference", json={"texts": TEXTS[:1]}))["predictions"]) \
        == LABELS


def test_discover_size_limit(app, reader, admin, source):
    ok(sync(admin, [comment(i, messages=[{"body": {"text": f"message number {i} about topic {i % 3}"}}])
                    for i in range(12)]))
    settings(app).max_discover_comments = 10
    before = rows(app)
    response = reader.post(f"{PRIVATE}/discover", json={"max_comments": 11, "n_clusters": 2})
    message = error(response, 400)
    assert "max_comments" in message and "REINFER_CLONE_MAX_DISCOVER_COMMENTS" in message
    assert response.get_json()["field"] == "max_comments"
    assert rows(app) == before
    # Absent, max_comments is the setting when it is below the usual 20,000.
    assert ok(reader.post(f"{PRIVATE}/discover", json={"n_clusters": 2}))["num_comments"] == 10


def test_the_embedder_never_tokenises_a_text_whole(admin, reader, source, monkeypatch):
    """A long comment (the issue's was 10 MiB) is cut before tokenisation, and
    still found by semantic search."""
    embedder = ml.embedder()
    seen = []
    tokenizer = embedder._tokenizer

    class Spy:
        """The tokenizer, noting the length of every text it is given."""

        def __call__(self, texts, *args, **kwargs):
            seen.extend(len(t) for t in ([texts] if isinstance(texts, str) else texts))
            return tokenizer(texts, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(tokenizer, name)

    monkeypatch.setattr(embedder, "_tokenizer", Spy())
    cap = embedder.max_length * embedding.CHARS_PER_TOKEN
    long_text = "The parcel never arrived and nobody answers my emails. " + "x" * 900_000
    ok(sync(admin, [comment(1, messages=[{"body": {"text": long_text}}]),
                    comment(2, messages=[{"body": {"text": "How do I change my password?"}}])]))
    body = ok(reader.post(f"{PRIVATE}/search", json={"query": "my package was lost", "kind": "semantic",
                                                      "limit": 1}))
    assert [r["comment"]["id"] for r in body["results"]] == ["c-00001"]
    assert seen and max(seen) <= cap


def test_query_pages_shrink_to_the_predicted_labels_limit(app, reader, model):
    """Each comment of a query page carries every label of the latest model: the
    page holds at most the limit's worth, and the continuation leads to the rest."""
    settings(app).max_predicted_labels = 2 * LABELS + 1
    seen, continuation = [], None
    while True:
        body = ok(reader.post(f"{PRIVATE}/query", json={"limit": 5, "order": {"kind": "recent"},
                                                       **({"continuation": continuation} if continuation else {})}))
        assert len(body["results"]) <= 2
        for item in body["results"]:
            (entry,) = item["labelling"]
            assert len(entry["predicted"]) == LABELS
        seen += [item["comment"]["id"] for item in body["results"]]
        continuation = body.get("continuation")
        if not continuation:
            break
    assert sorted(seen) == [f"t-{i:05d}" for i in range(48)]


def _pages(client, url, body, key, cursor_in, cursor_out, method="post"):
    """Every page of a paged read, following its cursor: [page items, ...]."""
    pages, cursor = [], None
    while True:
        if method == "post":
            answer = ok(client.post(url, json={**body, **({cursor_in: cursor} if cursor else {})}))
        else:
            answer = ok(client.get(url, query_string={**body, **({cursor_in: cursor} if cursor else {})}))
        pages.append(answer[key])
        cursor = answer.get(cursor_out)
        if not cursor:
            return pages


def test_export_pages_shrink_to_the_predicted_labels_limit(app, admin, model):
    """Each exported comment carries every label of the latest model: a page
    holds at most the limit's worth, and paging through still returns every
    comment exactly once, with the same content as unshrunk pages."""
    whole = _pages(admin, f"{DS}/export", {"limit": 256}, "comments", "continuation", "continuation")
    assert len(whole) == 1 and len(whole[0]) == 48
    settings(app).max_predicted_labels = 2 * LABELS + 1
    pages = _pages(admin, f"{DS}/export", {"limit": 5}, "comments", "continuation", "continuation")
    assert len(pages) == 24 and all(len(p) == 2 for p in pages)
    items = [item for p in pages for item in p]
    assert [i["comment"]["id"] for i in items] == [f"t-{i:05d}" for i in range(48)]
    assert all(len(i["predictions"]["labels"]) == LABELS for i in items)
    assert items == whole[0]
    # The same with predictions read one comment at a time.
    settings(app).max_predicted_labels = 1_048_576
    from reinfer_clone.services import export
    import unittest.mock

    with unittest.mock.patch.object(export, "SCORE_CELLS", 1):
        assert _pages(admin, f"{DS}/export", {"limit": 256}, "comments", "continuation", "continuation") == whole


def test_export_by_uids_beyond_the_predicted_labels_limit_is_413(app, admin, model):
    source, _ = model
    uids = [f"{source['id']}.t-{i:05d}" for i in range(3)]
    settings(app).max_predicted_labels = 2 * LABELS
    response = admin.post(f"{DS}/export", json={"comment_uids": uids})
    message = error(response, 413)
    assert PREDICTED in message and f"3 comments x {LABELS} labels" in message
    assert response.get_json()["limit"] == PREDICTED
    body = ok(admin.post(f"{DS}/export", json={"comment_uids": uids[:2]}))
    assert [c["comment"]["id"] for c in body["comments"]] == ["t-00000", "t-00001"]


def test_reviewed_labellings_with_predictions_shrink_to_the_limit(app, reader, model):
    source, _ = model
    url = f"{PRIVATE}/labellings"
    query = {"source_id": source["id"], "return_predictions": "true", "limit": 1024}
    # `after` comes with every non-empty page: the last page is empty.
    whole = _pages(reader, url, query, "results", "after", "after", method="get")
    assert [len(p) for p in whole] == [48, 0]
    settings(app).max_predicted_labels = 3 * LABELS
    pages = _pages(reader, url, query, "results", "after", "after", method="get")
    assert [len(p) for p in pages] == [3] * 16 + [0]
    items = [item for p in pages for item in p]
    assert sorted(i["comment"]["id"] for i in items) == [f"t-{i:05d}" for i in range(48)]
    assert all(len(next(g for g in i["labelling"] if g["group"] == "default")["predicted"]) == LABELS
               for i in items)
    assert items == whole[0]
    # Without predictions the limit does not apply.
    plain = _pages(reader, url, {**query, "return_predictions": "false"}, "results", "after", "after", method="get")
    assert [len(p) for p in plain] == [48, 0]


def test_query_pages_read_predictions_a_chunk_at_a_time(app, reader, model, monkeypatch):
    body = {"limit": 64, "order": {"kind": "recent"}}
    whole = ok(reader.post(f"{PRIVATE}/query", json=body))
    monkeypatch.setattr(predictions, "SCORE_CELLS", LABELS)  # one comment per chunk
    chunked = ok(reader.post(f"{PRIVATE}/query", json=body))
    assert len(chunked["results"]) == 48
    assert chunked == whole
