"""Hostile input (issue 11, "No 500 on any input"): every class of request that
answered 500 or HTML now gets a 400 (or 404 / 413) JSON envelope naming the
field and the rule, and writes nothing. The rules are in docs/decisions.md."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from reinfer_clone.api.support import DB_EXTENSION
from reinfer_clone.db import Base

from ..helpers import comment, error, make_dataset, make_project, make_source, ok, sync

DS = "/api/v1/datasets/acme/triage"
PRIVATE_DS = "/api/_private/datasets/acme/triage"
SRC = "/api/v1/sources/acme/inbox"
POISON = "__POISON__"


@pytest.fixture
def world(admin):
    """A project, a source with one comment, a dataset over it and a stream."""
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    ok(sync(admin, [comment(0)]))
    ok(admin.put(f"{DS}/streams", json={"stream": {"name": "s"}}))
    return {"source_id": source["id"], "uid": f"{source['id']}.c-00000"}


def snapshot(app) -> dict:
    """Every row of every table, to show that a refused request wrote nothing."""
    database = app.extensions[DB_EXTENSION]
    out = {}
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


def send(client, method, path, body, poison: str):
    """`body` as JSON with the string POISON replaced by raw JSON text (which
    Python's encoder could not write: NaN, 5,000 levels, lone surrogates...)."""
    raw = json.dumps(body).replace(json.dumps(POISON), poison)
    return client.request(method, path, data=raw.encode("utf-8"),
                          headers={"Content-Type": "application/json"})


def refused(app, client, method, path, body, poison, field, status=400) -> str:
    before = snapshot(app)
    message = error(send(client, method, path, body, poison), status)
    assert field in message, (field, message)
    assert snapshot(app) == before
    return message


def new_comment(**fields):
    return comment(7, **fields)


def labelling(*, metadata=None, name="Billing", entities=None, moon_forms=None):
    label = {"name": name, "sentiment": "positive"}
    if metadata is not None:
        label["metadata"] = metadata
    body = {"labelling": [{"group": "default", "assigned": [label]}]}
    if entities is not None:
        body["entities"] = {"assigned": entities}
    if moon_forms is not None:
        body["moon_forms"] = moon_forms
    return body


def _write_routes(uid):
    """(name, method, path, body with POISON at a free-form value, field path)."""
    label_path = f"{PRIVATE_DS}/labellings/{uid}"
    return [
        ("sync text_markup", "POST", f"{SRC}/sync",
         {"comments": [new_comment(messages=[{"body": {"text": "x", "text_markup": [{"n": POISON}]}}])]},
         "comments.0.messages.0.body.text_markup.0.n"),
        ("upload text_markup", "PUT", "/api/_private/sources/acme/inbox/comments",
         {"comments": [new_comment(messages=[{"body": {"text": "x", "text_markup": [{"n": POISON}]}}])]},
         "comments.0.messages.0.body.text_markup.0.n"),
        ("sync number property", "POST", f"{SRC}/sync",
         {"comments": [new_comment(user_properties={"number:n": POISON})]},
         "comments.0.user_properties.number:n"),
        ("label metadata", "POST", label_path, labelling(metadata={"score": POISON}),
         "labelling.0.assigned.0.metadata.score"),
        ("entity span", "POST", label_path,
         labelling(entities=[{"name": "e", "spans": [{"char_start": POISON, "char_end": 3}]}]),
         "entities.assigned.0.spans.0.char_start"),
        ("moon_forms", "POST", label_path, labelling(moon_forms=[{"fields": {"amount": POISON}}]),
         "moon_forms.0.fields.amount"),
        ("stream filter", "PUT", f"{DS}/streams",
         {"stream": {"name": "s2", "comment_filter": {"user_properties": {"number:n": {"minimum": POISON}}}}},
         "stream.comment_filter.user_properties.number:n.minimum"),
        ("model tag version", "PUT", f"{DS}/model-tags/live", {"version": POISON}, "version"),
    ]


def _read_routes():
    return [
        ("query filter", "POST", f"{PRIVATE_DS}/query",
         {"filter": {"user_properties": {"number:n": {"minimum": POISON}}}, "order": {"kind": "recent"}},
         "filter.user_properties.number:n.minimum"),
        ("statistics filter", "POST", f"{PRIVATE_DS}/statistics",
         {"comment_filter": {"user_properties": {"number:n": {"maximum": POISON}}}},
         "comment_filter.user_properties.number:n.maximum"),
        ("stream fetch size", "POST", f"{DS}/streams/s/fetch", {"size": POISON}, "size"),
    ]


NUMBERS = {
    "beyond 64 bits": "18446744073709551616",
    "below 64 bits": "-9223372036854775809",
    "401 digits": "9" * 401,
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "overflowing float": "1e400",
}

WRITE_NAMES = [r[0] for r in _write_routes("u")]
READ_NAMES = [r[0] for r in _read_routes()]


def _route(world, name):
    for route in _write_routes(world["uid"]) + _read_routes():
        if route[0] == name:
            return route[1:]
    raise KeyError(name)


@pytest.mark.parametrize("number", NUMBERS.values(), ids=NUMBERS.keys())
@pytest.mark.parametrize("route", WRITE_NAMES + READ_NAMES)
def test_numbers_json_cannot_hold_are_refused(app, admin, world, route, number):
    method, path, body, field = _route(world, route)
    message = refused(app, admin, method, path, body, number, field)
    assert "64 bits" in message or "finite" in message, message


def test_nan_metadata_is_refused_before_anything_is_written(app, admin, world):
    """It used to commit the labelling (NaN stored as null) and then answer 500."""
    body = labelling(metadata={"score": POISON})
    refused(app, admin, "POST", f"{PRIVATE_DS}/labellings/{world['uid']}", body, "NaN",
            "labelling.0.assigned.0.metadata.score")
    results = ok(admin.get(f"{PRIVATE_DS}/labellings", query_string={"id": world["uid"]}))["results"]
    assert "labelling" not in results[0]


def test_integers_within_64_bits_in_free_form_json_round_trip(admin, world):
    markup = [{"n": 2**63 - 1, "m": -(2**63), "f": 1.5e300}]
    ok(sync(admin, [new_comment(messages=[{"body": {"text": "x", "text_markup": markup}}])]))
    got = ok(admin.get(f"{SRC}/comments/c-00007"))["comment"]
    assert got["messages"][0]["body"].get("text_markup", markup) == markup


DEEP = "[" * 5000 + "]" * 5000
NESTED_65 = "[" * 65 + "]" * 65


@pytest.mark.parametrize("depth", [DEEP, NESTED_65], ids=["5000 deep", "65 deep"])
@pytest.mark.parametrize("route", WRITE_NAMES + READ_NAMES)
def test_deep_nesting_is_refused_naming_where(app, admin, world, route, depth):
    method, path, body, field = _route(world, route)
    message = refused(app, admin, method, path, body, depth, field)
    assert "nested deeper than 64 levels" in message


def test_deep_top_level_body_is_refused(app, admin, world):
    message = refused(app, admin, "POST", f"{DS}/streams/s/fetch", POISON, DEEP, ".".join(["0"] * 64) + ":")
    assert "nested deeper" in message


def test_nesting_of_64_levels_is_accepted(admin, world):
    nested = "[" * 56 + "1" + "]" * 56  # 8 levels of envelope above it
    body = labelling(metadata={"deep": POISON})
    ok(send(admin, "POST", f"{PRIVATE_DS}/labellings/{world['uid']}", body, nested))


# --- strings: lone surrogates and NUL ---------------------------------------------------

def _string_routes(uid, source_id):
    label_path = f"{PRIVATE_DS}/labellings/{uid}"
    return [
        ("comment text", "POST", f"{SRC}/sync",
         {"comments": [new_comment(messages=[{"body": {"text": POISON}}])]}, "comments.0.messages.0.body.text"),
        ("comment id", "POST", f"{SRC}/sync", {"comments": [new_comment(id=POISON)]}, "comments.0.id"),
        ("thread id", "PUT", "/api/_private/sources/acme/inbox/comments",
         {"comments": [new_comment(thread_id=POISON)]}, "comments.0.thread_id"),
        ("property key", "POST", f"{SRC}/sync",
         {"comments": [new_comment(user_properties={"string:a" + POISON: "x"})]}, "comments.0.user_properties"),
        ("sensitive_properties", "POST", SRC, {"source": {"sensitive_properties": [POISON]}},
         "source.sensitive_properties.0"),
        ("new source title", "PUT", "/api/v1/sources/acme/other", {"source": {"title": POISON}}, "source.title"),
        ("label name", "POST", label_path, labelling(name=POISON), "labelling.0.assigned.0.name"),
        ("label def name", "PUT", f"{PRIVATE_DS}/labels/default", {"label_defs": [{"name": POISON}]},
         "label_defs.0.name"),
        ("stream exception type", "PUT", f"{DS}/streams/s/exceptions",
         {"exceptions": [{"metadata": {"type": POISON}, "uid": uid}]}, "exceptions.0.metadata.type"),
        ("project title", "POST", "/api/_private/projects/acme", {"project": {"title": POISON}},
         "project.title"),
        ("new project title", "PUT", "/api/_private/projects/other",
         {"project": {"title": POISON}, "user_ids": []}, "project.title"),
        ("dataset title", "PUT", "/api/v1/datasets/acme/other",
         {"dataset": {"title": POISON, "source_ids": [source_id]}}, "dataset.title"),
        ("query search", "POST", f"{PRIVATE_DS}/query", {"search": POISON, "order": {"kind": "recent"}},
         "search"),
    ]


STRING_NAMES = [r[0] for r in _string_routes("u", "s")]
STRINGS = {"lone high surrogate": '"\\ud800"', "lone low surrogate": '"a\\udfffb"',
           "reversed pair": '"\\udc00\\ud800"', "NUL": '"a\\u0000b"'}


@pytest.mark.parametrize("poison", STRINGS.values(), ids=STRINGS.keys())
@pytest.mark.parametrize("route", STRING_NAMES)
def test_strings_with_nul_or_lone_surrogates_are_refused(app, admin, world, route, poison):
    routes = {r[0]: r[1:] for r in _string_routes(world["uid"], world["source_id"])}
    method, path, body, field = routes[route]
    if route == "property key":
        poison = poison[1:-1]  # inside the key's own quotes
        raw = json.dumps(body).replace(POISON, poison)
        before = snapshot(app)
        message = error(admin.request(method, path, data=raw), 400)
        assert field in message and ("NUL" in message or "surrogate" in message), message
        assert snapshot(app) == before
        return
    message = refused(app, admin, method, path, body, poison, field)
    assert "NUL" in message or "surrogate" in message, message


def test_surrogate_pairs_and_other_characters_are_accepted(admin, world):
    text_ = "\U0001F600 caf\u00e9 \u2028 \\"
    raw = json.dumps({"comments": [new_comment(messages=[{"body": {"text": text_}}])]})  # ASCII escapes
    assert "\\ud83d\\ude00" in raw
    ok(admin.post(f"{SRC}/sync", data=raw))
    got = ok(admin.get(f"{SRC}/comments/c-00007"))["comment"]
    assert got["messages"][0]["body"]["text"] == text_


def test_escaped_backslash_before_u0000_is_not_a_nul(admin, world):
    raw = json.dumps({"comments": [new_comment(messages=[{"body": {"text": "\\u0000"}}])]})
    ok(admin.post(f"{SRC}/sync", data=raw))
    got = ok(admin.get(f"{SRC}/comments/c-00007"))["comment"]
    assert got["messages"][0]["body"]["text"] == "\\u0000"


def test_invalid_utf8_body_is_400(app, admin, world):
    before = snapshot(app)
    raw = b'{"comments": [{"id": "x", "timestamp": "2024-01-01T00:00:00Z", "messages": [{"body": {"text": "\xed\xa0\x80"}}]}]}'
    message = error(admin.post(f"{SRC}/sync", data=raw), 400)
    assert "UTF-8" in message
    assert snapshot(app) == before


NUL_URLS = [
    ("GET", "/api/v1/sources/id:%00", "path"),
    ("GET", f"{SRC}/comments/a%00b", "path"),
    ("PUT", "/api/v1/sources/acme/a%00b", "path"),
    ("POST", f"{PRIVATE_DS}/labellings/abc.a%00b", "path"),
    ("DELETE", f"{SRC}/comments?id=a%00b", "'id'"),
    ("GET", f"{PRIVATE_DS}/labellings?id=a%00b", "'id'"),
    ("GET", f"{SRC}/comments?after=%00", "'after'"),
    ("GET", f"{SRC}/comments?a%00=1", "'a\\u0000'"),
]


@pytest.mark.parametrize("method, url, field", NUL_URLS)
def test_nul_in_path_or_query_is_refused(app, admin, world, method, url, field):
    before = snapshot(app)
    message = error(admin.request(method, url, json={"source": {}} if method == "PUT" else None), 400)
    assert field in message and "NUL" in message, message
    assert snapshot(app) == before


# --- datetimes that leave the calendar once the offset is applied ---------------------

OVERFLOWING = ["9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+05:00"]


def _datetime_routes(uid):
    return [
        ("sync timestamp", "POST", f"{SRC}/sync", {"comments": [new_comment(timestamp=POISON)]},
         "comments.0.timestamp"),
        ("upload timestamp", "PUT", "/api/_private/sources/acme/inbox/comments",
         {"comments": [new_comment(timestamp=POISON)]}, "comments.0.timestamp"),
        ("sent_at", "POST", f"{SRC}/sync",
         {"comments": [new_comment(messages=[{"body": {"text": "x"}, "sent_at": POISON}])]},
         "comments.0.messages.0.sent_at"),
        ("source statistics", "POST", f"{SRC}/statistics",
         {"comment_filter": {"timestamp": {"minimum": POISON}}}, "comment_filter.timestamp.minimum"),
        ("dataset statistics", "POST", f"{PRIVATE_DS}/statistics",
         {"comment_filter": {"timestamp": {"maximum": POISON}}}, "comment_filter.timestamp.maximum"),
        ("summary", "POST", f"{PRIVATE_DS}/summary", {"filter": {"timestamp": {"minimum": POISON}}},
         "filter.timestamp.minimum"),
        ("query", "POST", f"{PRIVATE_DS}/query",
         {"filter": {"timestamp": {"minimum": POISON}}, "order": {"kind": "recent"}}, "filter.timestamp.minimum"),
        ("stream reset", "POST", f"{DS}/streams/s/reset", {"to_comment_created_at": POISON},
         "to_comment_created_at"),
        ("stream filter", "PUT", f"{DS}/streams",
         {"stream": {"name": "s2", "comment_filter": {"timestamp": {"minimum": POISON}}}},
         "stream.comment_filter.timestamp.minimum"),
        ("export", "POST", f"{DS}/export", {"from": POISON}, "from"),
    ]


DATETIME_NAMES = [r[0] for r in _datetime_routes("u")]


@pytest.mark.parametrize("value", OVERFLOWING)
@pytest.mark.parametrize("route", DATETIME_NAMES)
def test_datetimes_overflowing_after_their_offset_are_refused(app, admin, world, route, value):
    routes = {r[0]: r[1:] for r in _datetime_routes(world["uid"])}
    method, path, body, field = routes[route]
    message = refused(app, admin, method, path, body, json.dumps(value), field)
    assert "out of range" in message


@pytest.mark.parametrize("name", ["from_timestamp", "to_timestamp", "from", "to"])
@pytest.mark.parametrize("value", OVERFLOWING)
def test_datetime_query_parameters_overflowing_are_refused(admin, world, name, value):
    message = error(admin.get(f"{SRC}/comments", query_string={name: value}), 400)
    assert name in message and "out of range" in message


def test_extreme_datetimes_within_range_are_accepted(admin, world):
    ok(sync(admin, [new_comment(timestamp="9999-12-31T23:59:59+10:00"),
                    comment(8, timestamp="0001-01-01T00:00:00-05:00")]))
    ok(admin.post(f"{SRC}/statistics", json={"comment_filter": {"timestamp": {
        "minimum": "0001-01-01T00:00:00Z", "maximum": "9999-12-31T23:59:59Z"}}}))
    ok(admin.get(f"{SRC}/comments", query_string={"from_timestamp": "0001-01-01T00:00:00Z",
                                                   "to_timestamp": "9999-12-31T23:59:59.999999Z"}))


# --- integers beyond their column ----------------------------------------------------

@pytest.mark.parametrize("version", [2**31, 2**63, 2**64, -(2**31) - 1])
def test_model_tag_versions_beyond_the_column_are_400(app, admin, world, version):
    before = snapshot(app)
    message = error(admin.put(f"{DS}/model-tags/live", json={"version": version}), 400)
    assert "version" in message
    assert snapshot(app) == before


@pytest.mark.parametrize("field, body", [
    ("size", {"size": 2**31}),
    ("limit", {"limit": 2**40, "order": {"kind": "recent"}}),
])
def test_integer_fields_beyond_32_bits_are_400(admin, world, field, body):
    path = f"{DS}/streams/s/fetch" if field == "size" else f"{PRIVATE_DS}/query"
    message = error(admin.post(path, json=body), 400)
    assert field in message and "2147483647" in message


@pytest.mark.parametrize("url", [
    f"{DS}/labellers/99999999999999999999/validation",
    f"{PRIVATE_DS}/labellers/2147483648/validation",
    f"{DS}/labellers/{'9' * 5000}/validation",
    f"{DS}/labellers/%C2%B2/validation",  # '²' is a digit to str.isdigit, not to int()
])
def test_version_paths_beyond_the_column_are_404(admin, world, url):
    error(admin.get(url), 404)


@pytest.mark.parametrize("model_id", ["99999999999999999999", "2147483648", "%C2%B2", "9" * 5000])
def test_v2_model_ids_beyond_the_column_are_404(admin, world, model_id):
    error(admin.post(f"/v2/models/{model_id}/inference", json={"texts": ["hello"]}), 404)


@pytest.mark.parametrize("query", ["limit=99999999999999999999", "limit=%C2%B2", f"limit={'9' * 5000}"])
def test_query_string_integers_beyond_32_bits_are_400(admin, world, query):
    message = error(admin.get(f"{SRC}/comments?{query}"), 400)
    assert "limit" in message
    message = error(admin.get(f"{PRIVATE_DS}/labellings?source_id={world['source_id']}&{query}"), 400)
    assert "limit" in message


def test_attachment_references_beyond_the_index_are_404(admin, world):
    error(admin.get(f"/api/v1/attachments/{world['source_id']}.c-00000.{'9' * 5000}"), 404)


# --- body size ------------------------------------------------------------------------

def test_chunked_body_over_the_limit_is_413(app, admin, world, config):
    before = snapshot(app)
    body = json.dumps({"comments": [new_comment(messages=[{"body": {"text": "x" * config.max_content_length}}])]})
    response = admin.client.open(
        f"{SRC}/sync", method="POST", input_stream=io.BytesIO(body.encode()),
        headers={"Authorization": f"Bearer {admin.token}", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    message = error(response, 413)
    assert str(config.max_content_length) in message
    assert snapshot(app) == before


def test_chunked_body_within_the_limit_is_read_whole(admin, world):
    body = json.dumps({"comments": [new_comment()]}).encode()
    response = admin.client.open(
        f"{SRC}/sync", method="POST", input_stream=io.BytesIO(body),
        headers={"Authorization": f"Bearer {admin.token}", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    ok(response)
    ok(admin.get(f"{SRC}/comments/c-00007"))

