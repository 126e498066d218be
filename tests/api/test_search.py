"""Keyword and semantic search in a dataset (our extension route)."""
import math

import pytest
from sqlalchemy import text

from reinfer_clone import migrate
from reinfer_clone.services import ml

from ..helpers import (
    assign, comment, error, label, make_dataset, make_project, make_source, make_user, ok, predictions_for, sync,
    upload,
)

SEARCH = "/api/_private/datasets/acme/triage/search"


def message(body, subject=None, **fields):
    out = {"body": {"text": body}, **fields}
    if subject is not None:
        out["subject"] = {"text": subject}
    return out


def note(i, body, subject=None, **fields):
    return comment(i, messages=[message(body, subject)], **fields)


@pytest.fixture
def setup(admin):
    make_project(admin, "acme")
    a = make_source(admin, "acme", "a")
    b = make_source(admin, "acme", "b")
    make_source(admin, "acme", "outside")
    make_dataset(admin, "acme", "triage", source_ids=[a["id"], b["id"]])
    return a, b


@pytest.fixture
def corpus(admin, setup):
    ok(sync(admin, [
        note(1, "I was charged twice for my order.", "Refund for a double charge",
             user_properties={"string:Channel": "email"}),
        note(2, "Le café était froid et le croissant rassis.", "Crème brûlée"),
        note(3, "Die Lieferung kam nicht an.", "STRASSE gesperrt"),
        note(4, "我想申请退款，因为商品坏了。"),
        note(5, "मेरा पैसा वापस करो", "रिफंड"),
        comment(6, messages=[message("Where is my refund?"), message("Any news about the refund?")],
                user_properties={"string:Channel": "chat"}),
    ], source="a"))
    ok(sync(admin, [note(7, "refund refund refund, a refund please", "Refund")], source="b"))
    ok(sync(admin, [note(8, "refund from a source outside the dataset")], source="outside"))
    return setup


def search(client, query, path=SEARCH, **body):
    return client.post(path, json={"query": query, **body})


def ids(body) -> list[str]:
    return [r["comment"]["id"] for r in body["results"]]


def index_rows(database) -> list[tuple[int, str]]:
    """The keyword index's rows, checked against FTS5's own view on SQLite."""
    with database.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT comment_pk, source_id FROM comment_search ORDER BY 1"))]
        if database.dialect == "sqlite":
            conn.execute(text("INSERT INTO comment_fts (comment_fts, rank) VALUES ('integrity-check', 1)"))
            fts = [r[0] for r in conn.execute(text("SELECT rowid FROM comment_fts ORDER BY 1"))]
            assert fts == [pk for pk, _ in rows]
        comments = [tuple(r) for r in conn.execute(text("SELECT pk, source_id FROM comments ORDER BY 1"))]
    assert rows == comments
    return rows


# --- keyword ---------------------------------------------------------------------------------

def test_keyword_results_are_annotated_comments_with_scores_best_first(admin, corpus):
    a, b = corpus
    body = ok(search(admin, "refund"))
    assert set(body) == {"status", "results"}
    # The most refund-heavy comment first; the source outside the dataset is left out.
    assert ids(body) == ["c-00007", "c-00006", "c-00001"]
    first = body["results"][0]
    assert first["comment"]["uid"] == f"{b['id']}.c-00007"
    assert first["comment"]["messages"] == [message("refund refund refund, a refund please", "Refund")]
    assert first["comment"]["has_annotations"] is False
    scores = [r["score"] for r in body["results"]]
    assert all(isinstance(s, float) and math.isfinite(s) and s > 0 for s in scores)
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    assert ids(ok(search(admin, "refund", limit=1))) == ["c-00007"]
    assert ids(ok(search(admin, "refund", kind="keyword", limit=2))) == ["c-00007", "c-00006"]


@pytest.mark.parametrize("query, expected", [
    ("CAFE", ["c-00002"]),                        # case and accents folded
    ("café froid", ["c-00002"]),                  # every word must match
    ("creme brulee", ["c-00002"]),
    ("straße", ["c-00003"]),                      # ß folds to ss both ways
    ("Strasse", ["c-00003"]),
    ("退款", ["c-00004"]),                         # Chinese: characters in order
    ("款退", []),
    ("पैसा", ["c-00005"]),                        # Devanagari with combining marks
    ("रिफंड", ["c-00005"]),
    ('"double charge"', ["c-00001"]),             # a quoted phrase
    ('"charge double"', []),
    ("double order", ["c-00001"]),                # words from subject and body
    ("double elephant", []),
    ("any news", ["c-00006"]),                    # second message of a thread
    ("!!! ???", []),                              # no words: no matches
])
def test_keyword_matching(admin, corpus, query, expected):
    assert ids(ok(search(admin, query))) == expected


def test_keyword_respects_the_filter(admin, corpus, session):
    a, b = corpus
    assert ids(ok(search(admin, "refund", filter={"sources": [a["id"]]}))) == ["c-00006", "c-00001"]
    assert ids(ok(search(admin, "refund", filter={"sources": [b["id"]]}))) == ["c-00007"]
    by_channel = {"user_properties": {"string:Channel": {"one_of": ["email"]}}}
    assert ids(ok(search(admin, "refund", filter=by_channel))) == ["c-00001"]
    window = {"timestamp": {"minimum": "2024-03-04T00:00:02Z", "maximum": "2024-03-04T00:00:06Z"}}
    assert ids(ok(search(admin, "refund", filter=window))) == ["c-00006"]
    ok(admin.post(f"/api/_private/datasets/acme/triage/labellings/{a['id']}.c-00001",
                  json={"labelling": [{"group": "default", "assigned": [{"name": "Billing", "sentiment": "negative"}]}]}))
    reviewed = ok(search(admin, "refund", filter={"reviewed": "only_reviewed"}))
    assert ids(reviewed) == ["c-00001"]
    assert reviewed["results"][0]["labelling"][0]["assigned"] == [{"name": "Billing", "sentiment": "negative"}]
    assert ids(ok(search(admin, "refund", filter={"reviewed": "only_unreviewed"}))) == ["c-00007", "c-00006"]


def test_filters_reach_past_the_first_candidates(admin, setup):
    # 40 matches; only the two weakest pass the filter, so candidates are
    # fetched again, four times as many each round.
    comments = [note(i, "parcel " * (41 - i) + "filler", user_properties={"string:Tier": "gold" if i >= 39 else "basic"})
                for i in range(1, 41)]
    ok(sync(admin, comments, source="a"))
    gold = {"user_properties": {"string:Tier": {"one_of": ["gold"]}}}
    assert ids(ok(search(admin, "parcel", limit=2, filter=gold))) == ["c-00039", "c-00040"]
    assert ids(ok(search(admin, "parcel", limit=1, filter=gold))) == ["c-00039"]
    assert len(ok(search(admin, "parcel", limit=512))["results"]) == 40
    assert ids(ok(search(admin, "parcel", limit=3))) == ["c-00001", "c-00002", "c-00003"]


def test_keyword_index_follows_upload_sync_and_delete(admin, corpus, database):
    a, _ = corpus
    assert len(index_rows(database)) == 8
    ok(upload(admin, [note(9, "A brand new parcel question")], source="a"))
    assert ids(ok(search(admin, "parcel"))) == ["c-00009"]
    # Changed content replaces the old words; unchanged content is left alone.
    changed = ok(sync(admin, [note(1, "The parcel was lost.", "Lost parcel"), note(9, "A brand new parcel question")],
                      source="a"))
    assert changed == {"status": "ok", "new": 0, "updated": 1, "unchanged": 1}
    assert ids(ok(search(admin, "refund"))) == ["c-00007", "c-00006"]
    assert ids(ok(search(admin, "lost parcel"))) == ["c-00001"]
    assert ids(ok(search(admin, "double charge"))) == []
    ok(admin.delete("/api/v1/sources/acme/a/comments", query_string=[("id", "c-00001"), ("id", "c-00002")]))
    assert ids(ok(search(admin, "parcel"))) == ["c-00009"]
    assert ids(ok(search(admin, "cafe"))) == []
    assert len(index_rows(database)) == 7
    # Deleting a source takes its comments' index rows with it.
    ok(admin.delete(f"/api/v1/sources/id:{a['id']}"))
    assert {source for _, source in index_rows(database)} == {corpus[1]["id"], outside_id(admin)}
    assert ids(ok(search(admin, "refund"))) == ["c-00007"]


def outside_id(client) -> str:
    return ok(client.get("/api/v1/sources/acme/outside"))["source"]["id"]


def test_comments_stored_before_the_index_existed_are_indexed_by_the_migration(admin, setup, database_url, database):
    ok(sync(admin, [note(1, "Ein Paket für die Straße", "Größe")], source="a"))
    ok(sync(admin, [note(2, "paket number two")], source="b"))
    database.dispose()  # no pooled connection in the way of DROP TABLE
    try:
        migrate.downgrade(database_url, "0005")
        with database.engine.connect() as conn:
            assert "comment_search" not in {r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master" if database.dialect == "sqlite"
                else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))}
        database.dispose()
    finally:
        migrate.upgrade(database_url)
    assert len(index_rows(database)) == 2
    assert sorted(ids(ok(search(admin, "paket")))) == ["c-00001", "c-00002"]
    assert ids(ok(search(admin, "strasse grosse"))) == ["c-00001"]
    # New writes go on from the backfilled rows.
    ok(sync(admin, [note(2, "no longer about that")], source="b"))
    assert ids(ok(search(admin, "paket"))) == ["c-00001"]


# --- semantic --------------------------------------------------------------------------------

TOPICS = {
    1: "My card was charged twice for the same purchase, please return the extra payment.",
    2: "The parcel never arrived and the tracking has not been updated for two weeks.",
    3: "How do I change the password of my online banking account?",
    4: "The mobile app crashes every time I try to open it.",
    5: "I would like to close my account permanently.",
}


@pytest.fixture
def topics(admin, setup):
    ok(sync(admin, [note(i, t, user_properties={"number:Rank": i}) for i, t in TOPICS.items()], source="a"))
    return setup


def cosine(a: str, b: str) -> float:
    vectors = ml.embedder().embed([a, b])
    return float(vectors[0] @ vectors[1])


def semantic(client, query, **body):
    return search(client, query, kind="semantic", **body)


def test_semantic_ranks_the_paraphrased_comment_first(admin, topics):
    body = ok(semantic(admin, "I was billed two times for one order"))
    assert ids(body)[0] == "c-00001"
    assert sorted(ids(body)) == [f"c-{i:05d}" for i in TOPICS]
    scores = [r["score"] for r in body["results"]]
    assert all(isinstance(s, float) and -1.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1]
    assert ids(ok(semantic(admin, "my package got lost in delivery", limit=1))) == ["c-00002"]
    assert ids(ok(semantic(admin, "application keeps crashing on my phone", limit=1))) == ["c-00004"]


def test_semantic_respects_the_filter(admin, topics):
    a, b = topics
    ok(sync(admin, [note(9, "I paid twice for a single item and want the money back.")], source="b"))
    query = "I was billed two times for one order"
    assert ids(ok(semantic(admin, query, limit=2))) == ["c-00001", "c-00009"]
    assert ids(ok(semantic(admin, query, limit=1, filter={"sources": [b["id"]]}))) == ["c-00009"]
    low_rank = {"user_properties": {"number:Rank": {"minimum": 4}}}
    assert sorted(ids(ok(semantic(admin, query, filter=low_rank)))) == ["c-00004", "c-00005"]
    # A time range is narrowed in SQL once the nearest candidates fall short.
    late = {"timestamp": {"minimum": "2024-03-04T00:00:05Z"}}
    assert ids(ok(semantic(admin, query, limit=2, filter=late))) == ["c-00009", "c-00005"]
    only_five = {"timestamp": {"minimum": "2024-03-04T00:00:05Z", "maximum": "2024-03-04T00:00:05Z"}}
    assert ids(ok(semantic(admin, query, limit=1, filter=only_five))) == ["c-00005"]


def test_semantic_index_follows_uploads_updates_and_deletes(admin, topics):
    query = "can I raise the spending limit on my credit card"
    first = ok(semantic(admin, query))
    assert "c-00006" not in ids(first)
    ok(upload(admin, [note(6, "Is it possible to increase my credit card limit?")], source="a"))
    assert ids(ok(semantic(admin, query)))[0] == "c-00006"
    # An update replaces the comment's vector: its score is the new text's.
    lost = "my package got lost in delivery"
    ok(sync(admin, [note(2, "Please send me a new debit card, mine expired.")], source="a"))
    scores = {r["comment"]["id"]: r["score"] for r in ok(semantic(admin, lost))["results"]}
    assert scores["c-00002"] == pytest.approx(cosine(lost, "Please send me a new debit card, mine expired."), abs=1e-4)
    assert scores["c-00002"] < cosine(lost, TOPICS[2]) - 0.1
    assert ids(ok(semantic(admin, "my card has expired and I need a replacement", limit=1))) == ["c-00002"]
    # Deleted comments are never returned.
    ok(admin.delete("/api/v1/sources/acme/a/comments", query_string={"id": "c-00006"}))
    assert "c-00006" not in ids(ok(semantic(admin, query)))
    assert len(ok(semantic(admin, query))["results"]) == 5


@pytest.mark.parametrize("kind", ["keyword", "semantic"])
def test_attribute_filters_combine_with_both_kinds(admin, corpus, session, kind):
    a, b = corpus
    labels = {"attribute": "labels", "filter": {"kind": "string_any_of", "any_of": ["Billing"]}}
    # Nothing labelled yet and no model: no comment passes.
    assert ok(search(admin, "refund", kind=kind, attribute_filters=[labels]))["results"] == []
    assign(admin, f"{a['id']}.c-00006", label("Billing > Refund"))  # a child implies its parent
    predictions_for(session, {"c-00001": [("Billing", 0.9)], "c-00007": [("Billing", 0.3)]})
    # c-00006 by its assigned label, c-00001 by its prediction; c-00007 is not probable enough.
    found = ok(search(admin, "refund", kind=kind, attribute_filters=[labels]))
    assert sorted(ids(found)) == ["c-00001", "c-00006"]
    assert [r["labelling"][0]["assigned"] for r in found["results"] if r["comment"]["id"] == "c-00006"] == \
        [[label("Billing > Refund")]]
    reviewed = ok(search(admin, "refund", kind=kind, attribute_filters=[labels], filter={"reviewed": "only_reviewed"}))
    assert ids(reviewed) == ["c-00006"]
    no_pdf = {"attribute": "attachment_property_types", "filter": {"kind": "string_any_of", "any_of": ["pdf"]}}
    assert ok(search(admin, "refund", kind=kind, attribute_filters=[no_pdf]))["results"] == []
    message = error(search(admin, "refund", kind=kind, attribute_filters=[{"attribute": "colour"}]), 400)
    assert "attribute_filters.0" in message


def test_semantic_skips_comments_without_text(admin, topics):
    ok(sync(admin, [comment(7, messages=[]), note(8, "   ")], source="a"))
    assert sorted(ids(ok(semantic(admin, "anything at all")))) == [f"c-{i:05d}" for i in TOPICS]


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body, needles", [
    ({}, ["query", "Missing data"]),
    ({"query": ""}, ["query", "Must not be empty"]),
    ({"query": "   "}, ["query", "Must not be empty"]),
    ({"query": None}, ["query", "null"]),
    ({"query": 5}, ["query", "Not a valid string"]),
    ({"query": "x" * 2049}, ["query", "2048"]),
    ({"query": "refund \ud800"}, ["query", "lone surrogate"]),
    ({"query": "x", "kind": "fuzzy"}, ["kind", "'fuzzy' is not one of ['keyword', 'semantic']"]),
    ({"query": "x", "limit": 0}, ["limit", "greater than or equal to 1"]),
    ({"query": "x", "limit": 513}, ["limit", "less than or equal to 512"]),
    ({"query": "x", "limit": 1.5}, ["limit", "integer"]),
    ({"query": "x", "limit": "3"}, ["limit", "integer"]),
    ({"query": "x", "limit": True}, ["limit", "integer"]),
    ({"query": "x", "filter": []}, ["filter"]),
    ({"query": "x", "filter": {"reviewed": "all"}}, ["filter.reviewed", "'all' is not one of"]),
    ({"query": "x", "filter": {"timestamp": {"minimum": "2024-01-01T00:00:00"}}},
     ["filter.timestamp.minimum", "offset"]),
    ({"query": "x", "filter": {"user_properties": {"colour": {"one_of": ["red"]}}}},
     ["filter.user_properties.colour"]),
    ({"query": "x", "filter": {"sources": ["0123456789abcdef"]}}, ["filter.sources", "0123456789abcdef"]),
])
def test_bad_input_is_a_400_naming_the_field(admin, setup, body, needles):
    for kind in ("keyword", "semantic"):
        message = error(admin.post(SEARCH, json={"kind": kind, **body}), 400)
        for needle in needles:
            assert needle in message


def test_malformed_json_and_non_object_bodies_are_400(admin, setup):
    assert "JSON" in error(admin.post(SEARCH, data="{nope", content_type="application/json"), 400)
    assert "object" in error(admin.post(SEARCH, json=["refund"]), 400)


def test_unknown_dataset_is_404(admin, setup):
    assert "ghost" in error(search(admin, "refund", path="/api/_private/datasets/acme/ghost/search"), 404)


def test_401_without_token(anon, corpus):
    error(search(anon, "refund"), 401)
    error(search(anon, "refund", kind="semantic"), 401)


def test_permissions(app, admin, corpus):
    a, _ = corpus
    both = make_user(app, "both", projects={"acme": ["voc-readonly", "sources-read"]})
    labels_only = make_user(app, "labels", projects={"acme": ["voc-readonly"]})
    sources_only = make_user(app, "sources", projects={"acme": ["sources-read"]})
    assert ids(ok(search(both, "refund"))) == ["c-00007", "c-00006", "c-00001"]
    assert "sources-read" in error(search(labels_only, "refund"), 403)
    assert "voc-readonly" in error(search(sources_only, "refund"), 403)
    # A source from another project needs sources-read there as well.
    make_project(admin, "other")
    foreign = make_source(admin, "other", "x")
    ok(admin.post("/api/v1/datasets/acme/triage", json={"dataset": {"source_ids": [a["id"], foreign["id"]]}}))
    assert "'other'" in error(search(both, "refund"), 403)
    assert ids(ok(search(admin, "refund"))) == ["c-00006", "c-00001"]


def test_dataset_without_sources_finds_nothing(admin, corpus):
    make_dataset(admin, "acme", "empty", source_ids=[])
    path = "/api/_private/datasets/acme/empty/search"
    assert ok(search(admin, "refund", path=path)) == {"status": "ok", "results": []}
    assert ok(search(admin, "refund", path=path, kind="semantic")) == {"status": "ok", "results": []}
