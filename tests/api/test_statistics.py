import pytest

from ..helpers import assign, comment, error, label, make_dataset, make_project, make_source, make_user, ok, sync

BASE = "/api/_private/datasets/acme/triage"
STATISTICS = f"{BASE}/statistics"
SUMMARY = f"{BASE}/summary"
SOURCE_STATISTICS = "/api/v1/sources/acme/a/statistics"


@pytest.fixture
def setup(admin):
    make_project(admin, "acme")
    a = make_source(admin, "acme", "a")
    b = make_source(admin, "acme", "b")
    make_dataset(admin, "acme", "triage", source_ids=[a["id"], b["id"]],
                 label_defs=[{"name": "Billing"}, {"name": "Unused"}])
    return a, b


def statistics(client, **body):
    return ok(client.post(STATISTICS, json=body))["statistics"]


def at(day, i, **fields):
    return comment(i, timestamp=f"{day}T12:00:00Z", **fields)


@pytest.fixture
def labelled(admin, setup):
    """Comments on Mon 4 and Wed 6 March (one week), Mon 11 March, Tue 2 April."""
    a, b = setup
    ok(sync(admin, [at("2024-03-04", 0), at("2024-03-04", 1), at("2024-03-06", 2), at("2024-03-11", 3),
                    at("2024-04-02", 4, user_properties={"string:Channel": "chat"})], source="a"))
    ok(sync(admin, [at("2024-03-06", 5)], source="b"))
    uid = f"{a['id']}.c-{{:05d}}".format
    assign(admin, uid(0), label("Billing > Refund", "negative"))
    assign(admin, uid(1), label("Billing"), label("Card"))
    assign(admin, uid(3), label("Card", "negative"))
    assign(admin, uid(4), label("Billing > Refund"))
    return a, b


def test_num_comments_only_unless_more_is_asked(admin, labelled):
    a, b = labelled
    assert statistics(admin) == {"num_comments": 6}
    assert statistics(admin, comment_filter={"sources": [b["id"]], "timestamp": {}}) == {"num_comments": 1}
    assert statistics(admin, comment_filter={"reviewed": "only_reviewed"}) == {"num_comments": 4}
    assert statistics(admin, comment_filter={"timestamp": {"minimum": "2024-03-06T12:00:00Z",
                                                           "maximum": "2024-03-11T12:00:00Z"}}) == {"num_comments": 3}
    # Filters tested in Python count too.
    by_property = {"user_properties": {"string:Channel": {"one_of": ["chat"]}}}
    assert statistics(admin, comment_filter=by_property) == {"num_comments": 1}
    card = [{"attribute": "labels", "filter": {"kind": "string_any_of", "any_of": ["Card"]}}]
    assert statistics(admin, attribute_filters=card) == {"num_comments": 2}
    assert statistics(admin, label_timeseries=False, label_property_timeseries=True) == {"num_comments": 6}


def test_label_counts(admin, labelled):
    stats = statistics(admin, label_counts=True)
    assert stats == {"num_comments": 6, "label_counts": {
        # Parents are implied; a comment counts once per label.
        "Billing": {"positive": 2, "negative": 1},
        "Unused": {"positive": 0, "negative": 0},
        "Billing > Refund": {"positive": 1, "negative": 1},
        "Card": {"positive": 1, "negative": 1},
    }}
    assert all(type(n) is int for counts in stats["label_counts"].values() for n in counts.values())
    filtered = statistics(admin, label_counts=True, comment_filter={"timestamp": {"maximum": "2024-03-05T00:00:00Z"}})
    assert filtered["num_comments"] == 2
    assert filtered["label_counts"]["Billing"] == {"positive": 1, "negative": 1}
    assert filtered["label_counts"]["Card"] == {"positive": 1, "negative": 0}


@pytest.mark.parametrize("resolution, rows", [
    (None, [["2024-03-04", 2, 2, 0, 1, 1], ["2024-03-06", 2, 0, 0, 0, 0], ["2024-03-11", 1, 0, 0, 0, 1],
            ["2024-04-02", 1, 1, 0, 1, 0]]),
    ("day", [["2024-03-04", 2, 2, 0, 1, 1], ["2024-03-06", 2, 0, 0, 0, 0], ["2024-03-11", 1, 0, 0, 0, 1],
             ["2024-04-02", 1, 1, 0, 1, 0]]),
    ("week", [["2024-03-04", 4, 2, 0, 1, 1], ["2024-03-11", 1, 0, 0, 0, 1], ["2024-04-01", 1, 1, 0, 1, 0]]),
    ("month", [["2024-03-01", 5, 2, 0, 1, 2], ["2024-04-01", 1, 1, 0, 1, 0]]),
])
def test_label_timeseries(admin, labelled, resolution, rows):
    body = {"label_timeseries": True, **({"time_resolution": resolution} if resolution else {})}
    stats = statistics(admin, **body)
    assert stats["num_comments"] == 6
    assert stats["label_timeseries_labels"] == ["Billing", "Unused", "Billing > Refund", "Card"]
    assert stats["label_timeseries"] == rows
    assert all(type(n) is int for row in stats["label_timeseries"] for n in row[1:])
    assert stats["label_counts"]["Card"] == {"positive": 1, "negative": 1}


def test_summary(admin, setup):
    a, b = setup
    values = [f"v{i:03d}" for i in range(105)]
    ok(sync(admin, [comment(i, user_properties={"string:Many": v}) for i, v in enumerate(values)], source="a"))
    ok(sync(admin, [comment(200 + i, user_properties={"string:Channel": c, "number:Total": 1.5})
                    for i, c in enumerate(["email", "chat", "email", "email", "chat", "phone"])], source="b"))
    body = ok(admin.post(SUMMARY, json={"filter": {}}))
    string, number = body["summary"]["user_properties"]["string"], body["summary"]["user_properties"]["number"]
    assert [s["full_name"] for s in string] == ["string:Channel", "string:Many"]
    # Most frequent first, ties by value.
    assert string[0]["values"] == [{"value": "email", "count": 3}, {"value": "chat", "count": 2},
                                   {"value": "phone", "count": 1}]
    assert [v["value"] for v in string[1]["values"]] == values[:100]
    assert number == [{"full_name": "number:Total"}]
    only_a = ok(admin.post(SUMMARY, json={"filter": {"sources": [a["id"]]}}))["summary"]["user_properties"]
    assert [s["full_name"] for s in only_a["string"]] == ["string:Many"] and only_a["number"] == []
    chat = {"user_properties": {"string:Channel": {"one_of": ["chat"]}}}
    summary = ok(admin.post(SUMMARY, json={"filter": chat}))["summary"]["user_properties"]
    assert summary["string"] == [{"full_name": "string:Channel", "values": [{"value": "chat", "count": 2}]}]
    empty = ok(admin.post(SUMMARY, json={"filter": {"reviewed": "only_reviewed"}}))
    assert empty["summary"] == {"user_properties": {"string": [], "number": []}}


def test_statistics_errors(admin, setup):
    message = error(admin.post(STATISTICS, json={"comment_filter": {"reviewed": "maybe"}}), 400)
    assert "comment_filter.reviewed" in message and "'maybe' is not one of" in message
    message = error(admin.post(STATISTICS, json={"label_timeseries": True, "time_resolution": "year"}), 400)
    assert "time_resolution" in message and "'year' is not one of ['day', 'week', 'month']" in message
    assert "label_timeseries" in error(admin.post(STATISTICS, json={"label_timeseries": "yes"}), 400)
    message = error(admin.post(STATISTICS, json={"comment_filter": {"sources": ["0123456789abcdef"]}}), 400)
    assert "comment_filter.sources" in message and "0123456789abcdef" in message
    message = error(admin.post(STATISTICS, json={"attribute_filters": [
        {"attribute": "attachment_property_types", "filter": {"kind": "number_range"}}]}), 400)
    assert "attribute_filters.0.filter.kind" in message
    message = error(admin.post(STATISTICS, json={"comment_filter": {"user_properties": {"x": {}}}}), 400)
    assert "comment_filter.user_properties.x" in message


# --- source statistics (contract §9.2) -------------------------------------------------------

def test_source_statistics_take_the_whole_comment_filter(admin, setup):
    a, _ = setup
    ok(sync(admin, [
        comment(1, user_properties={"string:Channel": "email"},
                messages=[{"from": "kim@example.org", "body": {"text": "x"}}]),
        comment(2, user_properties={"string:Channel": "chat"}),
        comment(3),
    ], source="a"))
    ok(sync(admin, [comment(4)], source="b"))

    def count(comment_filter):
        body = ok(admin.post(SOURCE_STATISTICS, json={"comment_filter": comment_filter}))
        return body["statistics"]["num_comments"]

    assert count({}) == 3 and count(None) == 3
    assert count({"sources": [a["id"]], "timestamp": {"minimum": "2024-03-04T00:00:02Z"}, "messages": {}}) == 2
    assert count({"user_properties": {"string:Channel": {"not_one_of": ["chat"]}}}) == 2
    assert count({"messages": {"from": {"one_of": ["kim@example.org"]}}}) == 1
    assert ok(admin.post(SOURCE_STATISTICS, json={}))["statistics"] == {"num_comments": 3}


def test_source_statistics_errors(admin, setup):
    _, b = setup
    message = error(admin.post(SOURCE_STATISTICS, json={"comment_filter": {"reviewed": "only_reviewed"}}), 400)
    assert "comment_filter.reviewed" in message and "dataset" in message
    message = error(admin.post(SOURCE_STATISTICS, json={"comment_filter": {"reviewed": "maybe"}}), 400)
    assert "comment_filter.reviewed" in message and "'maybe' is not one of" in message
    message = error(admin.post(SOURCE_STATISTICS, json={"comment_filter": {"sources": [b["id"]]}}), 400)
    assert "comment_filter.sources" in message and b["id"] in message
    message = error(admin.post(SOURCE_STATISTICS, json={"comment_filter": {"messages": {"to": {"one_of": [1, []]}}}}),
                    400)
    assert "comment_filter.messages.to.one_of.1" in message
    error(admin.post("/api/v1/sources/acme/ghost/statistics", json={}), 404)


def test_source_statistics_permissions(app, anon, admin, setup):
    ok(sync(admin, [comment(1)], source="a"))
    reader = make_user(app, "reader", projects={"acme": ["sources-read"]})
    labels_only = make_user(app, "labels", projects={"acme": ["voc-readonly"]})
    assert ok(reader.post(SOURCE_STATISTICS, json={}))["statistics"] == {"num_comments": 1}
    assert "sources-read" in error(labels_only.post(SOURCE_STATISTICS, json={}), 403)
    error(anon.post(SOURCE_STATISTICS, json={}), 401)
