"""Discover (our extension): clusters of a dataset's comments, through HTTP.

The comments are a small slice of banking77 (5 intents x 15 messages), embedded
by the real model; clustering must recover the intents far better than chance.
"""
import csv
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score
from sqlalchemy import func, select

from reinfer_clone.models import CachedEmbedding

from ..helpers import comment, error, is_utc, make_dataset, make_project, make_source, make_user, ok, sync

URL = "/api/_private/datasets/acme/triage/discover"
BANKING = Path(__file__).resolve().parents[3] / "shared" / "data" / "banking77" / "train.csv"
INTENTS = ("apple_pay_or_google_pay", "lost_or_stolen_phone", "terminate_account", "age_limit", "atm_support")
PER_INTENT = 15


def banking_slice() -> list[tuple[str, str]]:
    """(text, intent): the first PER_INTENT messages of each intent, in file order."""
    if not BANKING.exists():
        pytest.skip(f"banking77 is absent: expected {BANKING} (the shared data folder beside the repository)")
    picked = {intent: [] for intent in INTENTS}
    with BANKING.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts = picked.get(row["category"])
            if texts is not None and len(texts) < PER_INTENT:
                texts.append(row["text"])
    return [(text, intent) for intent in INTENTS for text in picked[intent]]


@pytest.fixture
def dataset(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    return source


@pytest.fixture
def banking(admin, dataset):
    """uid -> (text, intent); each comment carries its intent as a user property."""
    rows = banking_slice()
    comments = [comment(i, messages=[{"body": {"text": text}}], user_properties={"string:Intent": intent})
                for i, (text, intent) in enumerate(rows)]
    ok(sync(admin, comments))
    return {f"{dataset['id']}.{c['id']}": row for c, row in zip(comments, rows)}


def discover(client, **body):
    return client.post(URL, json=body)


def members(clusters) -> dict[str, int]:
    """uid -> cluster id, from a response with `uids`."""
    out = {}
    for c in clusters:
        assert len(c["uids"]) == c["size"]
        for uid in c["uids"]:
            assert uid not in out, f"{uid} is in two clusters"
            out[uid] = c["id"]
    return out


def test_clusters_recover_the_intents(admin, banking, session):
    body = ok(discover(admin, n_clusters=5, include_uids=True))
    clusters = body["clusters"]
    assert body["num_comments"] == len(banking) == 75
    assert [c["id"] for c in clusters] == list(range(len(clusters))) and len(clusters) == 5
    assert all(isinstance(c["size"], int) for c in clusters)
    assert sum(c["size"] for c in clusters) == 75
    assert [c["size"] for c in clusters] == sorted((c["size"] for c in clusters), reverse=True)
    assignment = members(clusters)
    assert set(assignment) == set(banking)
    uids = sorted(banking)
    score = adjusted_rand_score([banking[u][1] for u in uids], [assignment[u] for u in uids])
    assert score > 0.5, score
    for c in clusters:
        assert c["terms"] and all(isinstance(t, str) and t.strip() for t in c["terms"])
        assert 0.0 < c["centroid_similarity"] <= 1.0
        # The terms describe the cluster: its top term is said by some of its members.
        texts = [banking[u][0].lower() for u in c["uids"]]
        assert any(word in text for text in texts for word in c["terms"][0].split())
        # Samples: 5 by default, members of the cluster, as AnnotatedComments.
        assert len(c["sample_uids"]) == min(5, c["size"])
        assert set(c["sample_uids"]) <= set(c["uids"])
        assert [s["comment"]["uid"] for s in c["samples"]] == c["sample_uids"]
        for s in c["samples"]:
            assert s["comment"]["messages"][0]["body"]["text"] == banking[s["comment"]["uid"]][0]
            assert is_utc(s["comment"]["timestamp"]) and is_utc(s["comment"]["created_at"])
            assert s["comment"]["has_annotations"] is False and "labelling" not in s
    # Without include_uids there is no uid list.
    assert all("uids" not in c for c in ok(discover(admin, n_clusters=5))["clusters"])
    # Embeddings went to the shared cache, so the next discover embeds nothing.
    assert session.scalar(select(func.count()).select_from(CachedEmbedding)) >= 75


def test_samples_are_the_members_closest_to_the_centre(admin, banking):
    full = ok(discover(admin, n_clusters=5, samples=50, seed=3, include_uids=True))["clusters"]
    few = ok(discover(admin, n_clusters=5, samples=3, seed=3))["clusters"]
    assert [c["size"] for c in few] == [c["size"] for c in full]
    for small, large in zip(few, full):
        assert len(large["sample_uids"]) == min(50, large["size"])
        assert set(large["sample_uids"]) <= set(large["uids"])
        assert small["terms"] == large["terms"]
        assert small["sample_uids"] == large["sample_uids"][:3]


def test_automatic_number_of_clusters(admin, banking):
    body = ok(discover(admin))
    # sqrt(75 / 2) rounds to 6.
    assert len(body["clusters"]) == 6
    assert sum(c["size"] for c in body["clusters"]) == body["num_comments"] == 75


def test_label_a_cluster_through_the_labellings_route(admin, banking, dataset):
    cluster = ok(discover(admin, n_clusters=5))["clusters"][0]
    topic = " ".join(cluster["terms"][:2])
    for uid in cluster["sample_uids"]:
        body = ok(admin.post(f"/api/_private/datasets/acme/triage/labellings/{uid}",
                             json={"labelling": [{"group": "default",
                                                  "assigned": [{"name": topic, "sentiment": "positive"}]}]}))
        assert body["comment"]["uid"] == uid and body["comment"]["has_annotations"] is True
    labelled = set(cluster["sample_uids"])
    assert len(labelled) == 5
    assert topic in [d["name"] for d in ok(admin.get("/api/v1/datasets/acme/triage"))["dataset"]["label_defs"]]
    # The labelled samples now come back with their labelling...
    again = ok(discover(admin, n_clusters=5))["clusters"]
    for item in (s for c in again for s in c["samples"] if s["comment"]["uid"] in labelled):
        assert item["labelling"][0]["assigned"] == [{"name": topic, "sentiment": "positive"}]
    # ...and discovering what is not labelled yet leaves them out.
    rest = ok(discover(admin, n_clusters=5, include_uids=True, unreviewed_only=True))
    assert rest["num_comments"] == 70
    assert not labelled & set(members(rest["clusters"]))
    reviewed = ok(discover(admin, n_clusters=2, include_uids=True, filter={"reviewed": "only_reviewed"}))
    assert reviewed["num_comments"] == 5 and set(members(reviewed["clusters"])) == labelled


def test_filter_and_max_comments_choose_the_comments(admin, banking):
    wanted = {"age_limit", "atm_support"}
    body = ok(discover(admin, n_clusters=2, include_uids=True,
                       filter={"user_properties": {"string:Intent": {"one_of": sorted(wanted)}}}))
    assert body["num_comments"] == 30
    assert {banking[u][1] for u in members(body["clusters"])} == wanted
    sampled = ok(discover(admin, n_clusters=2, include_uids=True, max_comments=20, seed=1))
    assert sampled["num_comments"] == 20 and sum(c["size"] for c in sampled["clusters"]) == 20
    chosen = set(members(sampled["clusters"]))
    assert chosen <= set(banking)
    # Deterministic for a seed; another seed samples other comments.
    def sample(seed):
        return set(members(ok(discover(admin, n_clusters=2, include_uids=True, max_comments=20, seed=seed))["clusters"]))

    assert sample(1) == chosen
    other = sample(2)
    assert len(other) == 20 and other != chosen
    # A filter and a sample together: 10 of the 30 matching.
    both = ok(discover(admin, n_clusters=2, include_uids=True, max_comments=10,
                       filter={"user_properties": {"string:Intent": {"one_of": sorted(wanted)}}}))
    assert both["num_comments"] == 10 and {banking[u][1] for u in members(both["clusters"])} <= wanted


def test_more_clusters_than_comments_gives_one_per_comment(admin, dataset):
    ok(sync(admin, [comment(i, messages=[{"body": {"text": t}}]) for i, t in
                    enumerate(["my card was stolen", "how do I close my account", "the ATM kept my card"])]))
    body = ok(discover(admin, n_clusters=10))
    assert body["num_comments"] == 3
    assert sorted(c["size"] for c in body["clusters"]) == [1, 1, 1]


def test_empty_dataset_has_no_clusters(admin, dataset):
    assert ok(discover(admin)) == {"status": "ok", "clusters": [], "num_comments": 0}
    ok(sync(admin, [comment(0)]))
    body = ok(discover(admin, filter={"timestamp": {"minimum": "2030-01-01T00:00:00Z"}}))
    assert body["clusters"] == [] and body["num_comments"] == 0


def test_permissions(app, admin, dataset, anon):
    make_project(admin, "other")
    other = make_source(admin, "other", "feed")
    reader = make_user(app, "reader", projects={"acme": ["voc-readonly", "sources-read"]})
    no_sources = make_user(app, "nosrc", projects={"acme": ["voc-readonly"]})
    no_labels = make_user(app, "nolabels", projects={"acme": ["sources-read"]})
    assert "token" in error(anon.post(URL, json={}), 401).lower()
    assert "voc-readonly" in error(discover(no_labels), 403)
    assert "sources-read" in error(discover(no_sources), 403)
    assert ok(discover(reader))["num_comments"] == 0
    # A source in another project needs sources-read there too.
    ok(admin.post("/api/v1/datasets/acme/triage", json={"dataset": {"source_ids": [dataset["id"], other["id"]]}}))
    assert "sources-read" in error(discover(reader), 403)


def test_not_found(admin, dataset):
    assert "triage-nope" in error(admin.post("/api/_private/datasets/acme/triage-nope/discover", json={}), 404)
    error(admin.post("/api/_private/datasets/nowhere/triage/discover", json={}), 404)
    error(admin.get(URL), 405)


@pytest.mark.parametrize("body, field", [
    ({"n_clusters": 1}, "n_clusters"),
    ({"n_clusters": 201}, "n_clusters"),
    ({"n_clusters": "5"}, "n_clusters"),
    ({"n_clusters": 5.5}, "n_clusters"),
    ({"n_clusters": True}, "n_clusters"),
    ({"max_comments": 0}, "max_comments"),
    ({"max_comments": 50_001}, "max_comments"),
    ({"samples": 0}, "samples"),
    ({"samples": 51}, "samples"),
    ({"seed": -1}, "seed"),
    ({"seed": "x"}, "seed"),
    ({"unreviewed_only": "yes"}, "unreviewed_only"),
    ({"include_uids": 1}, "include_uids"),
    ({"filter": []}, "filter"),
    ({"filter": {"reviewed": "sometimes"}}, "filter.reviewed"),
    ({"filter": {"timestamp": {"minimum": "2024-01-01T00:00:00"}}}, "filter.timestamp.minimum"),
    ({"filter": {"user_properties": {"Intent": {"one_of": ["x"]}}}}, "filter.user_properties.Intent"),
    ({"filter": {"sources": ["0123456789abcdef"]}}, "filter.sources"),
    ({"unreviewed_only": True, "filter": {"reviewed": "only_reviewed"}}, "unreviewed_only"),
])
def test_bad_input_names_the_field(admin, dataset, body, field):
    message = error(discover(admin, **body), 400)
    assert f"{field}:" in message, message


def test_bad_bodies(admin, dataset):
    assert "JSON" in error(admin.post(URL, data="{nope", content_type="application/json"), 400)
    assert "object" in error(admin.post(URL, json=[1, 2]), 400)
    # Unknown fields are ignored, as everywhere.
    assert ok(discover(admin, colour="blue"))["num_comments"] == 0
