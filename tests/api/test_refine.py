"""The Refine queues (contract §20): `teach`, `check`, `missed` and `rebalance`
orders of the query route. Predictions are stored directly (tests/helpers.py
`predictions_for`), so each order is checked against the probabilities the
page itself returns, not against a guess of what a model would say."""
import pytest

from reinfer_clone.models import ModelVersion

from ..helpers import (
    assign, comment, error, label, make_dataset, make_project, make_source, make_user, ok, predictions_for, sync,
)

BASE = "/api/_private/datasets/acme/triage"
QUERY = f"{BASE}/query"

# c-00000 .. c-00011: probabilities of "Billing" (and a child); some reviewed.
PREDICTIONS = {
    "c-00000": [("Billing", 0.95), ("Billing > Refund", 0.9)],
    "c-00001": [("Billing", 0.52)],
    "c-00002": [("Billing", 0.31)],
    "c-00003": [("Billing", 0.05), ("Card", 0.9)],
    "c-00004": [("Billing", 0.7)],
    "c-00005": [("Billing", 0.29)],
    "c-00006": [("Billing", 0.1)],
    "c-00007": [("Billing", 0.88)],
    "c-00008": [("Billing", 0.6)],
    "c-00009": [],
    "c-00010": [("Billing", 0.4)],
    "c-00011": [("Billing", 0.45)],
}


@pytest.fixture
def setup(admin, session):
    make_project(admin, "acme")
    a = make_source(admin, "acme", "a")
    make_dataset(admin, "acme", "triage", source_ids=[a["id"]])
    # Timestamps one day apart, so a timestamp filter can cut the set in two.
    ok(sync(admin, [comment(i, timestamp=f"2024-01-{i + 1:02d}T10:00:00Z") for i in range(12)], source="a"))
    uid = f"{a['id']}.c-{{:05d}}".format
    # Reviewed: 5, 6 carry Billing (6 through its child); 7, 8, 9 do not.
    assign(admin, uid(5), label("Billing"))
    assign(admin, uid(6), label("Billing > Refund"))
    assign(admin, uid(7), label("Card"))
    assign(admin, uid(8), label("Card"))
    assign(admin, uid(9), label("Card"))
    assign(admin, uid(4), label("Billing"))
    predictions_for(session, PREDICTIONS)
    return a


def pages(client, order, limit=2, **body):
    """Every page of the order, following `continuation`."""
    results, continuation = [], None
    for _ in range(100):
        page = ok(client.post(QUERY, json={"filter": {}, "order": order, "limit": limit, **body,
                                           **({"continuation": continuation} if continuation else {})}))
        assert len(page["results"]) <= limit
        results.extend(page["results"])
        continuation = page.get("continuation")
        if not continuation:
            return results
    raise AssertionError("paging never ended")


def probability(result, name="Billing") -> float:
    """The label's probability as the page returned it (0 when not predicted)."""
    (group,) = result["labelling"]
    return next((p["probability"] for p in group.get("predicted", []) if p["name"] == name.split(" > ")), 0.0)


def carries(result, name="Billing") -> bool:
    (group,) = result["labelling"]
    return any(a["name"] == name or a["name"].startswith(name + " > ") for a in group["assigned"])


def reviewed(result) -> bool:
    return bool(result["labelling"][0]["assigned"])


def ids(results):
    return [r["comment"]["id"] for r in results]


def test_teach_orders_unreviewed_by_distance_to_the_balanced_threshold(admin, setup, session):
    results = pages(admin, {"kind": "teach", "label": "Billing"})
    assert not any(reviewed(r) for r in results)
    assert sorted(ids(results)) == ["c-00000", "c-00001", "c-00002", "c-00003", "c-00010", "c-00011"]
    distances = [abs(probability(r) - 0.5) for r in results]
    assert distances == sorted(distances)
    assert ids(results)[0] == "c-00001"  # 0.52: the coin toss

    # The pivot is the label's balanced threshold from the model's validation.
    version = session.query(ModelVersion).one()
    version.validation = {"labels": [{"name": "Billing", "auto_thresholds": {"balanced": 0.3}}]}
    session.commit()
    results = pages(admin, {"kind": "teach", "label": "Billing"}, limit=4)
    distances = [abs(probability(r) - 0.3) for r in results]
    assert distances == sorted(distances) and ids(results)[0] == "c-00002"


def test_queues_see_predictions_stored_after_an_earlier_page(admin, setup, session):
    """Each process keeps the decoded probabilities of a version; comments scored
    later (new arrivals) must join the queues on the next read."""
    from sqlalchemy import select

    from reinfer_clone.models import Comment, StoredPrediction

    before = ids(pages(admin, {"kind": "teach", "label": "Billing"}))
    ok(sync(admin, [comment(12, timestamp="2024-01-20T10:00:00Z")], source="a"))
    session.rollback()
    version = session.query(ModelVersion).one()
    new_pk = session.scalar(select(Comment.pk).where(Comment.external_id == "c-00012"))
    session.add(StoredPrediction(model_pk=version.pk, comment_pk=new_pk,
                                 labels=[{"name": "Billing", "probability": 0.5}]))
    session.commit()
    after = pages(admin, {"kind": "teach", "label": "Billing"})
    assert ids(after) == ["c-00012"] + before  # exactly the threshold: first
    assert probability(after[0]) == 0.5
    low = pages(admin, {"kind": "low_confidence"}, limit=20)
    assert ids(low)[0] == "c-00012"  # |2p - 1| = 0


def test_check_lists_reviewed_carriers_lowest_probability_first(admin, setup):
    results = pages(admin, {"kind": "check", "label": "Billing"}, limit=1)
    assert all(reviewed(r) and carries(r) for r in results)
    assert ids(results) == ["c-00006", "c-00005", "c-00004"]  # 0.1, 0.29, 0.7
    values = [probability(r) for r in results]
    assert values == sorted(values)
    # A child label has its own queue: only 6 carries Billing > Refund.
    assert ids(pages(admin, {"kind": "check", "label": "Billing > Refund"})) == ["c-00006"]


def test_missed_lists_reviewed_without_the_label_highest_first(admin, setup):
    results = pages(admin, {"kind": "missed", "label": "Billing"})
    assert all(reviewed(r) and not carries(r) for r in results)
    assert ids(results) == ["c-00007", "c-00008", "c-00009"]  # 0.88, 0.6, none
    values = [probability(r) for r in results]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize("kind", ["teach", "check", "missed"])
def test_queues_combine_with_filters_and_page_alike(admin, setup, kind):
    order = {"kind": kind, "label": "Billing"}
    everything = pages(admin, order, limit=50)
    assert len(everything) >= 3
    # Paging one at a time gives the same sequence as one page.
    assert ids(pages(admin, order, limit=1)) == ids(everything)
    # A timestamp filter keeps the order of what it lets through.
    late = {"timestamp": {"minimum": "2024-01-06T00:00:00Z"}}
    filtered = pages(admin, order, limit=2, filter=late)
    assert ids(filtered) == [i for i in ids(everything) if int(i[2:]) >= 5]
    # So do attribute filters (labels: assigned, or predicted >= 0.5 when unreviewed).
    cards = [{"attribute": "labels", "filter": {"kind": "string_any_of", "any_of": ["Card"]}}]
    carded = pages(admin, order, limit=2, attribute_filters=cards)
    assert ids(carded) == [i for i in ids(everything) if i in ("c-00003", "c-00007", "c-00008", "c-00009")]


def test_queue_errors_name_the_field(admin, setup, session):
    assert "order.label" in error(admin.post(QUERY, json={
        "filter": {}, "order": {"kind": "teach", "label": "Nope"}}), 400)
    for kind in ("teach", "check", "missed"):
        assert "order.label" in error(admin.post(QUERY, json={"filter": {}, "order": {"kind": kind}}), 400)
    assert "order.model_version" in error(admin.post(QUERY, json={
        "filter": {}, "order": {"kind": "teach", "label": "Billing", "model_version": 9}}), 400)
    assert "order.model_version" in error(admin.post(QUERY, json={
        "filter": {}, "order": {"kind": "teach", "label": "Billing", "model_version": "1"}}), 400)
    first = ok(admin.post(QUERY, json={"filter": {}, "order": {"kind": "check", "label": "Billing"}, "limit": 1}))
    assert "continuation" in error(admin.post(QUERY, json={
        "filter": {}, "order": {"kind": "missed", "label": "Billing"}, "continuation": first["continuation"]}), 400)


def test_pinned_model_version_scores_with_that_version(admin, setup, session):
    from reinfer_clone.models import Comment, StoredPrediction

    first = session.query(ModelVersion).one()
    second = ModelVersion(dataset_id=first.dataset_id, version=2, label_names=first.label_names, artifact=b"")
    session.add(second)
    session.flush()
    # Version 2 reverses version 1's view of the reviewed non-carriers.
    flipped = {"c-00007": 0.1, "c-00008": 0.2, "c-00009": 0.9}
    for c in session.query(Comment):
        p = flipped.get(c.external_id, 0.0)
        session.add(StoredPrediction(model_pk=second.pk, comment_pk=c.pk,
                                     labels=[{"name": "Billing", "probability": p}]))
    session.commit()
    assert ids(pages(admin, {"kind": "missed", "label": "Billing"})) == ["c-00009", "c-00008", "c-00007"]
    pinned = pages(admin, {"kind": "missed", "label": "Billing", "model_version": 1})
    assert ids(pinned) == ["c-00007", "c-00008", "c-00009"]
    # The page shows the pinned version's predictions, which explain its order.
    assert [probability(r) for r in pinned] == [0.88, 0.6, 0.0]


def test_queues_need_read_permissions(app, admin, setup):
    stranger = make_user(app, "stranger")
    assert stranger.post(QUERY, json={"filter": {}, "order": {"kind": "teach", "label": "Billing"}}).status_code == 403


def test_rebalance_serves_the_least_covered_regions_first(admin, setup, session):
    from reinfer_clone.models import Comment, StoredPrediction

    # Regions as training would have assigned them: region 0 holds 0-5
    # (reviewed: 4, 5), region 1 holds 6-9 (reviewed: 6, 7, 8, 9), region 2 holds
    # 10-11 (none reviewed). Reviewed shares 2/6, 4/6, 0 over data shares
    # 6/12, 4/12, 2/12: ratios 0.667, 2.0, 0.
    region = {**{f"c-{i:05d}": 0 for i in range(6)}, **{f"c-{i:05d}": 1 for i in range(6, 10)},
              "c-00010": 2, "c-00011": 2}
    pk_of = {c.external_id: c.pk for c in session.query(Comment)}
    for p in session.query(StoredPrediction):
        p.region = region[next(k for k, v in pk_of.items() if v == p.comment_pk)]
    session.commit()
    results = pages(admin, {"kind": "rebalance"}, limit=2)
    assert not any(reviewed(r) for r in results)
    assert ids(results) == ["c-00010", "c-00011", "c-00000", "c-00001", "c-00002", "c-00003"]
    # Reviewing moves a region down the queue: with 10 reviewed, region 2
    # ((1/7)/(2/12) = 0.86) now comes after region 0 ((2/7)/(6/12) = 0.57).
    a = setup
    assign(admin, f"{a['id']}.c-00010", label("Card"))
    late = {"timestamp": {"minimum": "2024-01-02T00:00:00Z"}}
    assert ids(pages(admin, {"kind": "rebalance"}, limit=1, filter=late)) == ["c-00001", "c-00002", "c-00003",
                                                                               "c-00011"]


def test_rebalance_without_regions_is_oldest_first(admin, setup):
    assert ids(pages(admin, {"kind": "rebalance"}, limit=3)) == [
        "c-00000", "c-00001", "c-00002", "c-00003", "c-00010", "c-00011"]


# --- model rating factors ----------------------------------------------------------------------

def test_validation_lists_rating_factors_and_derives_the_score(admin, session):
    from reinfer_clone.classifier import rating
    from reinfer_clone.models import StoredPrediction

    from ..helpers import train_tiny_model

    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    version = train_tiny_model(admin, source["id"])
    validation = ok(admin.get(f"{BASE}/labellers/{version}/validation"))["validation"]
    factors = {f["kind"]: f for f in validation["factors"]}
    assert [f["kind"] for f in validation["factors"]] == [
        "balance", "coverage", "all_labels", "underperforming_labels"]
    for f in factors.values():
        assert set(f) == {"kind", "score", "contribution", "rating", "details"}
        assert 0 <= f["score"] <= 100 and f["rating"] in ("poor", "average", "good", "excellent")
        assert f["contribution"] == round(rating.WEIGHTS[f["kind"]] * f["score"], 2)
    # Every comment is reviewed: the reviewed set is the data, region for region.
    assert factors["balance"]["score"] == 100.0
    regions = factors["balance"]["details"]["regions"]
    assert len(regions) == 2 and sum(r["dataset_share"] for r in regions) == pytest.approx(1.0)
    assert factors["balance"]["details"]["sample_size"] == 48
    covered = factors["coverage"]["details"]
    assert covered["sample_size"] == 48 and factors["coverage"]["score"] == round(100 * covered["covered"] / 48, 1)
    assert factors["all_labels"]["score"] == round(100 * validation["mean_average_precision"], 1)
    # 12 examples a leaf, 24 a parent: all below 25.
    under = factors["underperforming_labels"]["details"]["labels"]
    assert {(u["name"], u["reason"], u["examples"]) for u in under} == {
        ("Billing", "too_few_examples", 24), ("Delivery", "too_few_examples", 24),
        ("Billing > Refund", "too_few_examples", 12), ("Billing > Invoice", "too_few_examples", 12),
        ("Delivery > Late", "too_few_examples", 12), ("Delivery > Damaged", "too_few_examples", 12)}
    assert factors["underperforming_labels"]["score"] == 0.0
    # The score is the factors' contributions, shrunk by the held-out positives.
    positives = sum(v["support"] for v in validation["labels"])
    expected = sum(f["contribution"] for f in factors.values())
    if positives < 10:
        assert validation["model_rating"] == {"score": 0.0, "quality": "none"}
    else:
        assert validation["model_rating"]["score"] == round(expected * min(1.0, positives / 50), 1)
    # Scoring the dataset stored each comment's region, for the rebalance queue.
    ok(admin.post(f"{BASE}/query", json={"filter": {}, "order": {"kind": "rebalance"}}))
    stored = {p.region for p in session.query(StoredPrediction)}
    assert stored <= {0, 1} and stored


# --- who labelled what -------------------------------------------------------------------------

def test_labellings_record_who_wrote_them(app, admin, setup, session):
    from reinfer_clone.models import Labelling

    from ..helpers import is_utc

    a = setup
    reviewer = make_user(app, "reviewer", projects={"acme": ["datasets-review", "voc-readonly", "sources-read"]})
    uid = f"{a['id']}.c-{{:05d}}".format
    assign(reviewer, uid(10), label("Card"))
    assign(reviewer, uid(11), label("Billing"))
    # A row from before attribution was recorded (c-00005, the first written)
    # stays valid: unknown writer.
    old = session.query(Labelling).order_by(Labelling.pk).first()
    old.updated_by = None
    session.commit()

    read = ok(admin.get(f"{BASE}/labellings", query_string={"id": [uid(10), uid(4), uid(0)]}))["results"]
    assert read[0]["labelled_by"] == reviewer.user_id and is_utc(read[0]["labelled_at"])
    assert read[1]["labelled_by"] == admin.user_id  # c-00004 was labelled by admin in setup
    assert "labelled_by" not in read[2] and "labelled_at" not in read[2]  # never labelled
    bulk = ok(admin.get(f"{BASE}/labellings", query_string={"source_id": a["id"], "limit": 50}))["results"]
    by_id = {r["comment"]["id"]: r for r in bulk}
    assert by_id["c-00011"]["labelled_by"] == reviewer.user_id
    unknown = [r for r in bulk if "labelled_by" not in r]
    assert len(unknown) == 1 and is_utc(unknown[0]["labelled_at"])

    # Relabelling moves the attribution to the new writer.
    assign(admin, uid(11), label("Card"))
    stats = ok(admin.post(f"{BASE}/statistics", json={"comment_filter": {}, "reviewed_by_user": True}))["statistics"]
    assert stats["num_comments"] == 12
    counts = {row["user_id"]: row["num_reviewed"] for row in stats["reviewed_by_user"]}
    assert counts == {admin.user_id: 6, None: 1, reviewer.user_id: 1}
    assert [row["num_reviewed"] for row in stats["reviewed_by_user"]] == [6, 1, 1]
    assert next(r for r in stats["reviewed_by_user"] if r["user_id"] == reviewer.user_id)["username"] == "reviewer"
    assert next(r for r in stats["reviewed_by_user"] if r["user_id"] is None)["username"] is None
    # The filter applies: from 2024-01-10 on, 9 and 11 (admin) and 10 (reviewer) are reviewed.
    late = {"timestamp": {"minimum": "2024-01-10T00:00:00Z"}}
    stats = ok(admin.post(f"{BASE}/statistics", json={"comment_filter": late, "reviewed_by_user": True}))["statistics"]
    assert {r["user_id"]: r["num_reviewed"] for r in stats["reviewed_by_user"]} == {
        admin.user_id: 2, reviewer.user_id: 1}
    # Without the flag the statistics are as before.
    assert "reviewed_by_user" not in ok(admin.post(f"{BASE}/statistics", json={"comment_filter": {}}))["statistics"]
