import csv
import io

import pytest
from sqlalchemy import select

from reinfer_clone.models import Labelling, Comment
from reinfer_clone.services import comment_filter

from ..helpers import (
    assign, comment, error, label, make_dataset, make_project, make_source, make_user, ok, predictions_for, sync,
)

BASE = "/api/_private/datasets/acme/triage"
QUERY = f"{BASE}/query"
RECENT = f"{BASE}/recent"
STATISTICS = f"{BASE}/statistics"
SUMMARY = f"{BASE}/summary"
RECENT_ORDER = {"kind": "recent"}


@pytest.fixture
def setup(admin):
    make_project(admin, "acme")
    a = make_source(admin, "acme", "a")
    b = make_source(admin, "acme", "b")
    make_source(admin, "acme", "outside")
    make_dataset(admin, "acme", "triage", source_ids=[a["id"], b["id"]])
    return a, b


def query(client, path=QUERY, headers=None, **body):
    body.setdefault("filter", {})
    if path == QUERY:
        body.setdefault("order", RECENT_ORDER)
    return client.post(path, json=body, headers=headers)


def ids(page) -> list[str]:
    return [r["comment"]["id"] for r in page["results"]]


def query_all(client, path=QUERY, **body) -> list[dict]:
    """Every page, following `continuation` as the client does."""
    results, continuation = [], None
    for _ in range(1000):
        page = ok(query(client, path, **body, **({"continuation": continuation} if continuation else {})))
        results.extend(page["results"])
        continuation = page.get("continuation")
        if not continuation:
            return results
    raise AssertionError("paging never ended")


# --- results and recent order ---------------------------------------------------------------

def test_query_returns_annotated_comments_newest_first(admin, setup):
    a, b = setup
    ok(sync(admin, [comment(1), comment(3, thread_id="t-3")], source="a"))
    ok(sync(admin, [comment(2)], source="b"))
    # Same timestamp as c-00003: the later row comes first.
    ok(sync(admin, [comment(3, id="late")], source="b"))
    ok(sync(admin, [comment(9)], source="outside"))
    assign(admin, f"{a['id']}.c-00001", label("Billing > Refund", "negative"))
    page = ok(query(admin))
    assert ids(page) == ["late", "c-00003", "c-00002", "c-00001"]
    assert "continuation" not in page
    first, _, _, last = page["results"]
    assert first["comment"]["uid"] == f"{b['id']}.late" and first["comment"]["has_annotations"] is False
    assert "labelling" not in first
    assert page["results"][1]["comment"]["thread_id"] == "t-3"
    assert last["comment"]["has_annotations"] is True
    assert last["labelling"] == [{"group": "default", "assigned": [label("Billing > Refund", "negative")],
                                  "dismissed": []}]
    assert last["comment"]["timestamp"] == "2024-03-04T00:00:01Z"
    # `recent` is the same order.
    assert ids(ok(query(admin, RECENT, limit=10))) == ids(page)


def test_paging_returns_every_comment_once_in_order(admin, setup):
    ok(sync(admin, [comment(i) for i in range(0, 25, 2)], source="a"))
    ok(sync(admin, [comment(i) for i in range(1, 25, 2)], source="b"))
    newest_first = [f"c-{i:05d}" for i in reversed(range(25))]
    for path in (QUERY, RECENT):
        results = query_all(admin, path, limit=4)
        assert [r["comment"]["id"] for r in results] == newest_first
    # A full last page ends the paging too, without an empty page after it.
    page = ok(query(admin, limit=25))
    assert len(page["results"]) == 25 and "continuation" not in page
    page = ok(query(admin, limit=24))
    assert len(page["results"]) == 24 and page["continuation"]


def test_paging_is_keyed_not_offset(admin, setup):
    ok(sync(admin, [comment(i) for i in range(12)], source="a"))
    seen, continuation = [], None
    while True:
        page = ok(query(admin, limit=3, **({"continuation": continuation} if continuation else {})))
        got = ids(page)
        seen.extend(got)
        # Deleting what was read must not make the next page skip anything.
        ok(admin.delete("/api/v1/sources/acme/a/comments", query_string=[("id", x) for x in got]))
        continuation = page.get("continuation")
        if not continuation:
            break
    assert seen == [f"c-{i:05d}" for i in reversed(range(12))]


def test_limit_defaults_to_64_and_clamps_to_512(admin, setup):
    ok(sync(admin, [comment(i) for i in range(600)], source="a"))
    assert len(ok(query(admin))["results"]) == 64
    page = ok(query(admin, limit=10_000))
    assert len(page["results"]) == 512 and page["continuation"]
    assert len(ok(query(admin, limit=10_000, continuation=page["continuation"]))["results"]) == 88


# --- filters ----------------------------------------------------------------------------------

CORPUS = [
    comment(0, user_properties={"string:Channel": "email", "number:Total": 10},
            messages=[{"from": "kim@Example.org", "to": ["help@acme.test"],
                       "subject": {"text": "Refund please"}, "body": {"text": "I was charged twice"}}],
            attachments=[{"name": "scan.PDF", "size": 1, "content_type": "application/pdf"}]),
    comment(1, user_properties={"string:Channel": "chat", "number:Total": 42.5, "string:Customer": "x@vip.test"},
            messages=[{"from": "bob@other.test", "to": ["sales@acme.test", "help@acme.test"],
                       "body": {"text": "hello"}}],
            attachments=[{"name": "a.png", "size": 1, "content_type": "image/png"},
                         {"name": "b.tar.gz", "size": 2, "content_type": "application/gzip"}]),
    comment(2, user_properties={"string:Channel": "email", "string:Customer": "y@plain.test"},
            messages=[{"from": "ann@example.org", "body": {"text": "Where is my PARCEL"}}]),
    comment(3, messages=[{"body": {"text": "nothing"}}, {"from": "kim@example.org", "body": {"text": "again"}}]),
]
CORPUS_B = [comment(4, user_properties={"number:Total": 100},
                    messages=[{"from": "kim@example.org", "body": {"text": "refund"}}])]


@pytest.fixture
def corpus(admin, setup):
    ok(sync(admin, CORPUS, source="a"))
    ok(sync(admin, CORPUS_B, source="b"))
    ok(sync(admin, [comment(5, user_properties={"string:Channel": "email"})], source="outside"))
    return setup


def python_matches(session, source_ids, filter_body) -> set[str]:
    """What `CommentFilter.matches` (the streams' path) says about each comment."""
    session.rollback()
    parsed = comment_filter.parse(filter_body)
    reviewed = set(session.scalars(select(Labelling.comment_pk).where(Labelling.reviewed.is_(True))))
    comments = session.scalars(select(Comment).where(Comment.source_id.in_(source_ids)))
    return {c.external_id for c in comments if parsed.matches(c, c.pk in reviewed)}


@pytest.mark.parametrize("filter_body, expected", [
    ({}, {0, 1, 2, 3, 4}),
    ({"timestamp": {}, "messages": {}, "user_properties": {}, "reviewed": None}, {0, 1, 2, 3, 4}),
    ({"timestamp": {"minimum": "2024-03-04T00:00:01Z", "maximum": "2024-03-04T01:00:03+01:00"}}, {1, 2, 3}),
    ({"timestamp": {"minimum": "2024-03-04T00:00:03.5Z"}}, {4}),
    ({"user_properties": {"string:Channel": {"one_of": ["email"]}}}, {0, 2}),
    ({"user_properties": {"string:Channel": {"not_one_of": ["email"]}}}, {1, 3, 4}),
    ({"user_properties": {"string:Customer": {"domain_not_one_of": ["VIP.test"]}}}, {0, 2, 3, 4}),
    ({"user_properties": {"number:Total": {"minimum": 10, "maximum": 42.5}}}, {0, 1}),
    ({"user_properties": {"number:Total": {"one_of": [100]}}}, {4}),
    ({"user_properties": {"string:Channel": {"one_of": ["email"]}, "number:Total": {"minimum": 5}}}, {0}),
    ({"messages": {"from": {"one_of": ["KIM@example.org"]}}}, {0, 3, 4}),
    ({"messages": {"from": {"domain_not_one_of": ["example.org"]}}}, {1}),
    ({"messages": {"to": {"one_of": ["sales@acme.test"]}}}, {1}),
    ({"messages": {"to": {"not_one_of": ["help@acme.test"]}}}, {2, 3, 4}),
])
def test_comment_filters_in_sql_and_python_agree(admin, corpus, session, filter_body, expected):
    results = query_all(admin, filter=filter_body, limit=2)
    assert sorted(r["comment"]["id"] for r in results) == [f"c-{i:05d}" for i in sorted(expected)]
    a, b = corpus
    assert python_matches(session, [a["id"], b["id"]], filter_body) == {f"c-{i:05d}" for i in expected}


def test_source_filter(admin, corpus):
    a, b = corpus
    assert ids(ok(query(admin, filter={"sources": [b["id"]]}))) == ["c-00004"]
    assert len(ok(query(admin, filter={"sources": [a["id"], b["id"]]}))["results"]) == 5
    outside = ok(admin.get("/api/v1/sources/acme/outside"))["source"]["id"]
    message = error(query(admin, filter={"sources": [a["id"], outside]}), 400)
    assert "filter.sources" in message and outside in message


def test_reviewed_counts_only_this_datasets_reviews(admin, corpus, session):
    a, b = corpus
    make_dataset(admin, "acme", "other", source_ids=[a["id"], b["id"]])
    assign(admin, f"{a['id']}.c-00001", label("Billing"))
    assign(admin, f"{a['id']}.c-00002", label("Billing"), dataset="other")
    # An emptied labelling is no longer a review.
    assign(admin, f"{b['id']}.c-00004", label("Card"))
    assign(admin, f"{b['id']}.c-00004")
    reviewed = ok(query(admin, filter={"reviewed": "only_reviewed"}))
    assert ids(reviewed) == ["c-00001"]
    unreviewed = ok(query(admin, filter={"reviewed": "only_unreviewed"}))
    assert ids(unreviewed) == ["c-00004", "c-00003", "c-00002", "c-00000"]
    # `has_annotations` is about any dataset; `reviewed` about this one.
    assert unreviewed["results"][2]["comment"]["has_annotations"] is True
    session.rollback()
    dataset_reviewed = set(session.scalars(select(Labelling.comment_pk).where(
        Labelling.reviewed.is_(True),
        Labelling.dataset_id == ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["id"])))
    parsed = comment_filter.parse({"reviewed": "only_reviewed"})
    assert {c.external_id for c in session.scalars(select(Comment))
            if parsed.matches(c, c.pk in dataset_reviewed)} == {"c-00001"}


@pytest.mark.parametrize("attribute_filters, expected", [
    ([{"attribute": "attachment_property_types", "filter": {"kind": "string_any_of", "any_of": ["pdf"]}}], {0}),
    ([{"attribute": "attachment_property_types", "filter": {"kind": "string_any_of", "any_of": ["GZ", ".png"]}}],
     {1}),
    ([{"attribute": "attachment_property_num_attachments",
       "filter": {"kind": "number_range", "minimum": 1, "maximum": None}}], {0, 1}),
    ([{"attribute": "attachment_property_num_attachments", "filter": {"kind": "number_range", "minimum": 2}}],
     {1}),
    ([{"attribute": "attachment_property_num_attachments", "filter": {"kind": "number_range", "maximum": 0}}],
     {2, 3, 4}),
    # Several filters must all hold.
    ([{"attribute": "attachment_property_num_attachments", "filter": {"kind": "number_range", "minimum": 1}},
      {"attribute": "attachment_property_types", "filter": {"kind": "string_any_of", "any_of": ["pdf"]}}], {0}),
])
def test_attachment_filters(admin, corpus, attribute_filters, expected):
    results = query_all(admin, attribute_filters=attribute_filters, limit=1)
    assert sorted(r["comment"]["id"] for r in results) == [f"c-{i:05d}" for i in sorted(expected)]


@pytest.mark.parametrize("search, expected", [
    ("refund", {0, 4}),  # a subject and a body, whatever the case
    ("parcel", {2}),
    ("AGAIN", {3}),  # any message of the thread
    ("charged twice", {0}),  # every word, anywhere in subject or body
    ("refund twice", {0}),
    ('"twice charged"', set()),  # a quoted phrase keeps its order
    ("refunds", set()),  # whole words, not substrings
    ("text", set()),  # JSON keys are not text
    ("kim@", set()),  # nor are addresses
    ("!!!", set()),  # no words: nothing matches
    ("", {0, 1, 2, 3, 4}),
])
def test_search(admin, corpus, search, expected):
    results = query_all(admin, search=search)
    assert {r["comment"]["id"] for r in results} == {f"c-{i:05d}" for i in expected}


def test_search_combines_with_filters_orders_and_paging(admin, corpus):
    newest_first = [r["comment"]["id"] for r in query_all(admin, search="refund", limit=1)]
    assert newest_first == ["c-00004", "c-00000"]
    email = {"user_properties": {"string:Channel": {"one_of": ["email"]}}}
    assert ids(ok(query(admin, search="refund", filter=email))) == ["c-00000"]
    shuffled = query_all(admin, search="refund", order={"kind": "sample", "seed": 3}, limit=1)
    assert sorted(r["comment"]["id"] for r in shuffled) == ["c-00000", "c-00004"]


def test_pages_are_filled_up_to_the_limit(admin, setup):
    # Matches are rare, so filling a page takes several batches of candidates.
    comments = [comment(i, user_properties={"string:Kind": "hit" if i % 300 == 0 else "miss"}) for i in range(1200)]
    ok(sync(admin, comments, source="a"))
    wanted = {"user_properties": {"string:Kind": {"one_of": ["hit"]}}}
    first = ok(query(admin, filter=wanted, limit=2))
    assert ids(first) == ["c-00900", "c-00600"] and first["continuation"]
    second = ok(query(admin, filter=wanted, limit=2, continuation=first["continuation"]))
    assert ids(second) == ["c-00300", "c-00000"] and "continuation" not in second
    # The shuffle too: its batches grow while the page is not full, and the pages
    # together hold each match once, in the order of the unfiltered shuffle.
    shuffle = {"kind": "sample", "seed": 9}
    everything = [r["comment"]["id"] for r in query_all(admin, order=shuffle, limit=500)]
    assert sorted(everything) == sorted(c["id"] for c in comments)
    hits = [r["comment"]["id"] for r in query_all(admin, filter=wanted, order=shuffle, limit=1)]
    assert hits == [x for x in everything if int(x[2:]) % 300 == 0]


def test_label_filter_assigned_parents_and_predictions(admin, setup, session):
    a, b = setup
    ok(sync(admin, [comment(i) for i in range(6)], source="a"))
    uid = f"{a['id']}.c-{{:05d}}".format
    assign(admin, uid(0), label("Billing > Refund"))
    assign(admin, uid(1), label("Card"))
    labels = {"attribute": "labels", "filter": {"kind": "string_any_of", "any_of": ["Billing"]}}
    # Without a model only assigned labels count; a child implies its parent.
    assert ids(ok(query(admin, attribute_filters=[labels]))) == ["c-00000"]
    predictions_for(session, {
        "c-00000": [],
        "c-00001": [("Billing", 0.9)],  # reviewed without it: the reviewer wins
        "c-00002": [("Billing", 0.5), ("Billing > Refund", 0.5)],
        "c-00003": [("Billing", 0.49)],
        "c-00004": [("Card", 0.99)],
        "c-00005": [("Billing", 0.8)],
    })
    assert ids(ok(query(admin, attribute_filters=[labels]))) == ["c-00005", "c-00002", "c-00000"]
    refund = {"attribute": "labels", "filter": {"kind": "string_any_of", "any_of": ["Billing > Refund", "Card"]}}
    assert ids(ok(query(admin, attribute_filters=[refund]))) == ["c-00004", "c-00002", "c-00001", "c-00000"]
    reviewed_only = ok(query(admin, filter={"reviewed": "only_reviewed"}, attribute_filters=[labels]))
    assert ids(reviewed_only) == ["c-00000"]


# --- predictions and computed orders -----------------------------------------------------------

def test_predictions_join_the_default_labelling(admin, setup, session):
    a, _ = setup
    ok(sync(admin, [comment(i) for i in range(3)], source="a"))
    assign(admin, f"{a['id']}.c-00000", label("Card", "negative"))
    predictions_for(session, {
        "c-00000": [("Billing", 0.75), ("Billing > Refund", 0.625)],
        "c-00001": [("Card", 0.25)],
    })
    page = ok(query(admin))
    by_id = {r["comment"]["id"]: r for r in page["results"]}
    assert by_id["c-00000"]["labelling"] == [{
        "group": "default", "assigned": [label("Card", "negative")], "dismissed": [],
        "predicted": [{"name": ["Billing"], "probability": 0.75, "sentiment": -0.25},
                      {"name": ["Billing", "Refund"], "probability": 0.625, "sentiment": -0.25}]}]
    (entry,) = by_id["c-00001"]["labelling"]
    assert entry["group"] == "default" and entry["assigned"] == []
    assert entry["predicted"] == [{"name": ["Card"], "probability": 0.25, "sentiment": -0.25}]
    # The stored labelling is untouched by what a read added.
    stored = ok(admin.get(f"{BASE}/labellings", query_string={"id": f"{a['id']}.c-00000"}))["results"][0]
    assert "predicted" not in stored["labelling"][0]


def test_by_label_order(admin, setup, session):
    a, b = setup
    ok(sync(admin, [comment(i) for i in range(6)], source="a"))
    assign(admin, f"{a['id']}.c-00005", label("Billing > Refund"))
    predictions_for(session, {
        "c-00000": [("Billing", 0.25)],
        "c-00001": [("Billing", 0.75)],
        "c-00002": [("Billing", 0.75)],
        "c-00003": [("Card", 0.9)],
        "c-00004": [("Billing", 0.5)],
        "c-00005": [("Billing", 0.1)],
    })
    order = {"kind": "by_label", "label": "Billing"}
    expected = ["c-00005", "c-00001", "c-00002", "c-00004", "c-00000", "c-00003"]
    assert ids(ok(query(admin, order=order))) == expected
    assert [r["comment"]["id"] for r in query_all(admin, order=order, limit=2)] == expected
    # The cursor belongs to its order.
    cursor = ok(query(admin, order=order, limit=2))["continuation"]
    message = error(query(admin, order={"kind": "by_label", "label": "Billing > Refund"}, continuation=cursor), 400)
    assert "continuation" in message
    assert "continuation" in error(query(admin, continuation=cursor), 400)
    assert "order.label" in error(query(admin, order={"kind": "by_label", "label": "Nope"}), 400)


def test_sample_order_is_a_stable_shuffle(admin, setup):
    ok(sync(admin, [comment(i) for i in range(30)], source="a"))
    first = ids(ok(query(admin, order={"kind": "sample", "seed": 42}, limit=100)))
    assert sorted(first) == [f"c-{i:05d}" for i in range(30)]
    assert first != sorted(first) and first != sorted(first, reverse=True)
    assert ids(ok(query(admin, order={"kind": "sample", "seed": 42}, limit=100))) == first
    paged = query_all(admin, order={"kind": "sample", "seed": 42}, limit=7)
    assert [r["comment"]["id"] for r in paged] == first
    assert ids(ok(query(admin, order={"kind": "sample", "seed": 7}, limit=100))) != first
    # A filter applies within the shuffle.
    few = ids(ok(query(admin, order={"kind": "sample", "seed": 42},
                       filter={"timestamp": {"maximum": "2024-03-04T00:00:09Z"}})))
    assert few == [x for x in first if x <= "c-00009"]


# --- CSV ---------------------------------------------------------------------------------------

def read_csv(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv(admin, setup, session):
    a, _ = setup
    ok(sync(admin, [comment(1, messages=[{"subject": {"text": "Hi, there"}, "body": {"text": "line 1\nline 2"}},
                                         {"body": {"text": "second"}}]),
                    comment(2)], source="a"))
    assign(admin, f"{a['id']}.c-00001", label("Billing > Refund", "negative"))
    headers = {"Accept": "text/csv"}
    rows = read_csv(query(admin, headers=headers))
    assert list(rows[0]) == ["uid", "id", "timestamp", "Date", "subject", "body", "labels",
                             "Billing", "Billing > Refund"]
    assert [r["id"] for r in rows] == ["c-00002", "c-00001"]
    row = rows[1]
    assert row["uid"] == f"{a['id']}.c-00001"
    assert row["timestamp"] == row["Date"] == "2024-03-04T00:00:01Z"
    assert row["subject"] == "Hi, there" and row["body"] == "line 1\nline 2\n\nsecond"
    assert row["labels"] == '["Billing", "Billing > Refund"]'
    assert row["Billing"] == "" and rows[0]["labels"] == "[]"
    predictions_for(session, {"c-00001": [("Billing", 0.75)], "c-00002": [("Billing > Refund", 0.5)]})
    rows = read_csv(query(admin, headers=headers, order={"kind": "sample", "seed": 1}))
    probabilities = {r["id"]: (r["Billing"], r["Billing > Refund"]) for r in rows}
    assert probabilities == {"c-00001": ("0.75", "0.0"), "c-00002": ("0.0", "0.5")}
    assert [r["id"] for r in read_csv(query(admin, headers=headers, filter={"timestamp": {
        "maximum": "2024-03-04T00:00:01Z"}}))] == ["c-00001"]


def test_csv_limit_goes_beyond_the_json_page_and_errors_stay_json(admin, setup):
    ok(sync(admin, [comment(i) for i in range(700)], source="a"))
    headers = {"Accept": "text/csv"}
    rows = read_csv(query(admin, headers=headers, limit=600))
    assert [r["id"] for r in rows] == [f"c-{i:05d}" for i in range(699, 99, -1)]
    assert len(read_csv(query(admin, headers=headers))) == 64
    assert "filter.reviewed" in error(query(admin, headers=headers, filter={"reviewed": "maybe"}), 400)
    assert "order.label" in error(query(admin, headers=headers, order={"kind": "by_label", "label": "x"}), 400)


# --- what `re get comments SOURCE --dataset D` does (contract §16) -----------------------------

def cli_download(client, source_id, reviewed_only=False, attribute_filters=()):
    filter_body = {"sources": [source_id], "timestamp": {}, "messages": {}}
    if reviewed_only:
        filter_body["reviewed"] = "only_reviewed"
    statistics = ok(client.post(STATISTICS, json={
        "comment_filter": filter_body, "attribute_filters": list(attribute_filters),
        "label_property_timeseries": False, "label_timeseries": False}))["statistics"]
    params = {"filter": filter_body, "limit": 512, "order": {"kind": "recent"}}
    if attribute_filters:
        params["attribute_filters"] = list(attribute_filters)
    results = []
    while True:
        page = ok(client.post(QUERY, json=params))
        if not page["results"]:
            break
        results.extend(page["results"])
        if not page.get("continuation"):
            break
        params["continuation"] = page["continuation"]
    return statistics, results


def test_get_comments_with_dataset_like_the_cli(admin, setup):
    a, b = setup
    ok(sync(admin, [comment(i, thread_id=f"t-{i}") for i in range(1100)], source="a"))
    ok(sync(admin, [comment(i) for i in range(50)], source="b"))
    labelled = {}
    for i in range(0, 1100, 97):
        name = "Billing > Refund" if i % 2 else "Card"
        assign(admin, f"{a['id']}.c-{i:05d}", label(name))
        labelled[f"c-{i:05d}"] = name
    statistics, results = cli_download(admin, a["id"])
    assert statistics == {"num_comments": 1100}
    uids = [r["comment"]["uid"] for r in results]
    assert len(uids) == len(set(uids)) == 1100
    assert set(uids) == {f"{a['id']}.c-{i:05d}" for i in range(1100)}
    annotated = {r["comment"]["id"]: r["labelling"][0]["assigned"] for r in results if "labelling" in r}
    assert annotated == {k: [label(v)] for k, v in labelled.items()}

    statistics, results = cli_download(admin, a["id"], reviewed_only=True)
    assert statistics == {"num_comments": len(labelled)}
    assert sorted(r["comment"]["id"] for r in results) == sorted(labelled)

    billing = [{"attribute": "labels", "filter": {"kind": "string_any_of", "any_of": ["Billing"]}}]
    statistics, results = cli_download(admin, a["id"], reviewed_only=True, attribute_filters=billing)
    expected = sorted(k for k, v in labelled.items() if v.startswith("Billing"))
    assert statistics == {"num_comments": len(expected)} and expected
    assert sorted(r["comment"]["id"] for r in results) == expected


# --- errors and permissions --------------------------------------------------------------------

@pytest.mark.parametrize("path, body, needles", [
    (QUERY, {"filter": {"reviewed": "maybe"}},
     ["filter.reviewed", "'maybe' is not one of ['only_reviewed', 'only_unreviewed']"]),
    (QUERY, {"filter": {"timestamp": {"minimum": "2024-01-01T00:00:00"}}}, ["filter.timestamp.minimum", "offset"]),
    (QUERY, {"filter": {"timestamp": {"maximum": 5}}}, ["filter.timestamp.maximum"]),
    (QUERY, {"filter": {"sources": "abc"}}, ["filter.sources", "list"]),
    (QUERY, {"filter": []}, ["filter"]),
    (QUERY, {"filter": {"user_properties": {"Channel": {"one_of": ["x"]}}}},
     ["filter.user_properties.Channel", "string:"]),
    (QUERY, {"filter": {"user_properties": {"string:Channel": {"one_of": [{"a": 1}]}}}},
     ["filter.user_properties.string:Channel.one_of.0"]),
    (QUERY, {"filter": {"user_properties": {"string:Channel": {"minimum": 1}}}},
     ["filter.user_properties.string:Channel.minimum", "range"]),
    (QUERY, {"filter": {"user_properties": {"number:Total": {"maximum": "9"}}}},
     ["filter.user_properties.number:Total.maximum", "number"]),
    (QUERY, {"filter": {"user_properties": {"number:Total": {"domain_not_one_of": ["a.b"]}}}},
     ["filter.user_properties.number:Total.domain_not_one_of"]),
    (QUERY, {"filter": {"user_properties": {"string:Channel": []}}}, ["filter.user_properties.string:Channel"]),
    (QUERY, {"filter": {"messages": {"from": {"one_of": "kim"}}}}, ["filter.messages.from.one_of"]),
    (QUERY, {"filter": {"messages": {"to": {"minimum": 3}}}}, ["filter.messages.to.minimum"]),
    (QUERY, {"order": {"kind": "oldest"}}, ["order.kind", "'oldest' is not one of"]),
    (QUERY, {"order": {"kind": "by_label"}}, ["order.label"]),
    (QUERY, {"order": {"kind": "sample"}}, ["order.seed"]),
    (QUERY, {"order": {"kind": "sample", "seed": "1"}}, ["order.seed"]),
    (QUERY, {"limit": 0}, ["limit", "greater than or equal to 1"]),
    (QUERY, {"limit": 1.5}, ["limit", "integer"]),
    (QUERY, {"continuation": "junk"}, ["continuation"]),
    (QUERY, {"search": 3}, ["search"]),
    (QUERY, {"attribute_filters": [{"attribute": "colour", "filter": {"kind": "string_any_of", "any_of": []}}]},
     ["attribute_filters.0.attribute", "'colour' is not one of"]),
    (QUERY, {"attribute_filters": [{"attribute": "labels", "filter": {"kind": "number_range"}}]},
     ["attribute_filters.0.filter.kind", "string_any_of"]),
    (QUERY, {"attribute_filters": [{"attribute": "labels", "filter": {"kind": "string_any_of"}}]},
     ["attribute_filters.0.filter.any_of", "Missing"]),
    (QUERY, {"attribute_filters": [{"attribute": "attachment_property_num_attachments",
                                    "filter": {"kind": "number_range", "minimum": -1}}]},
     ["attribute_filters.0.filter.minimum"]),
    (QUERY, {"attribute_filters": [{"attribute": "labels"}]}, ["attribute_filters.0.filter", "Missing"]),
    (RECENT, {"limit": -3}, ["limit"]),
    (RECENT, {"filter": {"reviewed": "all"}}, ["filter.reviewed"]),
    (SUMMARY, {"filter": {"reviewed": 1}}, ["filter.reviewed"]),
    (SUMMARY, {"attribute_filters": {"attribute": "labels"}}, ["attribute_filters"]),
])
def test_bad_input_is_a_400_naming_the_field(admin, setup, path, body, needles):
    message = error(admin.post(path, json=body), 400)
    for needle in needles:
        assert needle in message


def test_malformed_json_is_a_400(admin, setup):
    for path in (QUERY, RECENT, STATISTICS, SUMMARY):
        assert "JSON" in error(admin.post(path, data="{nope", content_type="application/json"), 400)


def test_nulls_for_optional_parts_are_accepted(admin, setup):
    ok(sync(admin, [comment(1)], source="a"))
    body = {"filter": {"reviewed": None, "timestamp": None, "sources": None, "user_properties": None,
                       "messages": {"from": None, "to": None}},
            "attribute_filters": None, "limit": None, "continuation": None, "search": None}
    assert ids(ok(query(admin, **body))) == ["c-00001"]
    assert ids(ok(query(admin, filter=None))) == ["c-00001"]


def test_unknown_dataset_is_404(admin, setup):
    for route in ("query", "recent", "statistics", "summary"):
        assert "ghost" in error(admin.post(f"/api/_private/datasets/acme/ghost/{route}", json={}), 404)


def test_401_without_token(anon, setup):
    for path in (QUERY, RECENT, STATISTICS, SUMMARY):
        error(anon.post(path, json={}), 401)


def test_permissions(app, admin, setup):
    a, _ = setup
    ok(sync(admin, [comment(1)], source="a"))
    both = make_user(app, "both", projects={"acme": ["voc-readonly", "sources-read"]})
    labels_only = make_user(app, "labels", projects={"acme": ["voc-readonly"]})
    sources_only = make_user(app, "sources", projects={"acme": ["sources-read"]})
    for path in (QUERY, RECENT, SUMMARY):
        assert ok(both.post(path, json={}))
        assert "sources-read" in error(labels_only.post(path, json={}), 403)
        assert "voc-readonly" in error(sources_only.post(path, json={}), 403)
    assert ok(labels_only.post(STATISTICS, json={}))["statistics"] == {"num_comments": 1}
    assert "voc-readonly" in error(sources_only.post(STATISTICS, json={}), 403)
    # A source from another project needs sources-read there as well.
    make_project(admin, "other")
    foreign = make_source(admin, "other", "x")
    ok(admin.post("/api/v1/datasets/acme/triage", json={"dataset": {"source_ids": [a["id"], foreign["id"]]}}))
    for path in (QUERY, RECENT, SUMMARY):
        assert "'other'" in error(both.post(path, json={}), 403)
    assert ok(both.post(STATISTICS, json={}))
    # Issue 11, case 5: counts narrowed to the comments of B's source, or by their
    # content, tell about those comments and need sources-read on B.
    ok(sync(admin, [comment(1), comment(2)], project="other", source="x"))
    narrowed = {"comment_filter": {"sources": [foreign["id"]]}}
    assert "'other'" in error(both.post(STATISTICS, json=narrowed), 403)
    by_content = {"comment_filter": {"user_properties": {"string:x": {"one_of": ["y"]}}}}
    assert "'other'" in error(both.post(STATISTICS, json=by_content), 403)
    own = {"comment_filter": {"sources": [a["id"]]}}
    assert ok(both.post(STATISTICS, json=own))["statistics"]["num_comments"] == 1
    assert ok(admin.post(STATISTICS, json=narrowed))["statistics"]["num_comments"] == 2


def test_dataset_without_sources_matches_nothing(admin, setup):
    ok(sync(admin, [comment(1)], source="a"))
    make_dataset(admin, "acme", "empty", source_ids=[])
    base = "/api/_private/datasets/acme/empty"
    assert ok(admin.post(f"{base}/query", json={"filter": {}, "order": RECENT_ORDER})) == {"status": "ok", "results": []}
    assert ok(admin.post(f"{base}/recent", json={}))["results"] == []
    assert ok(admin.post(f"{base}/statistics", json={}))["statistics"] == {"num_comments": 0}
    sample = {"filter": {"user_properties": {"string:x": {"one_of": ["y"]}}}, "order": {"kind": "sample", "seed": 1}}
    assert ok(admin.post(f"{base}/query", json=sample))["results"] == []
