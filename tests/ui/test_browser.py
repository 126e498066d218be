"""End to end in headless Chromium: every step is done the way a person does it,
with elements found by role and accessible name, and checked through the API."""
from __future__ import annotations

import io
import re
from pathlib import Path

from playwright.sync_api import expect

from ..helpers import make_dataset, make_user, ok
from .conftest import ARTIFACTS, shot

DATASET = "/api/v1/datasets/acme/triage"
PRIVATE = "/api/_private/datasets/acme/triage"
TRAINING = 600_000  # ms: a cap. Discover and training take seconds, but minutes on a loaded shared machine


def sign_in(page, live, token):
    page.goto(live.url + "/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def label_of(live, comment_id: str) -> str:
    return next(label for c, label in live.items if c["id"] == comment_id)


def assigned(live, uid: str) -> list[str]:
    body = ok(live.admin.get(f"{PRIVATE}/labellings", query_string={"id": uid}))
    group = next((g for g in body["results"][0].get("labelling", []) if g["group"] == "default"), {})
    return [label["name"] for label in group.get("assigned", [])]


def test_sign_in_refuses_a_bad_token_and_sign_out_clears_it(live, page):
    sign_in(page, live, "not-a-token")
    expect(page.get_by_role("alert")).to_contain_text("401")
    expect(page.get_by_role("alert")).to_contain_text("Invalid API token")
    shot(page, "00-sign-in-401")
    assert page.evaluate("sessionStorage.length") == 0

    page.get_by_label("API token").fill(live.admin.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects and datasets")).to_be_visible()
    assert page.evaluate("Object.values(sessionStorage)") == [live.admin.token]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_teach_train_validate_pin_and_stream(live, page):
    sign_in(page, live, live.admin.token)

    # Create a dataset over the source.
    form = page.get_by_role("form", name="Create dataset")
    form.get_by_label("Dataset name").fill("triage")
    form.get_by_label("acme/inbox").check()
    form.get_by_role("button", name="Create dataset").click()
    expect(page.get_by_role("heading", name="Discover")).to_be_visible()
    dataset = ok(live.admin.get(DATASET))["dataset"]
    assert dataset["source_ids"] == [live.source["id"]]

    # Discover: select the card-arrival samples among the clusters, label them at once.
    expect(page.get_by_text(re.compile(r"60 comments in \d+ clusters"))).to_be_visible(timeout=TRAINING)
    card_texts = {c["messages"][0]["body"]["text"]: c["id"] for c, label in live.items if label == "Card > Arrival"}
    picked = []
    for box in page.get_by_role("checkbox").all():
        name = box.evaluate("el => el.labels[0].textContent")
        if name in card_texts:
            box.check()
            picked.append(card_texts[name])
    assert picked, "no card-arrival comment among the cluster samples"
    shot(page, "02-discover")
    page.get_by_label("Label to apply").fill("Card > Arrival")
    page.get_by_role("button", name="Apply label to selected").click()
    expect(page.get_by_role("status").first).to_contain_text(f"to {len(picked)} comment")
    for comment_id in picked:
        assert assigned(live, f"{live.source['id']}.{comment_id}") == ["Card > Arrival"]

    # Explore: label 20 comments with the keyboard only; new labels are created inline.
    page.get_by_role("link", name="Explore").click()
    detail = page.get_by_role("article", name="Comment")
    expect(detail).to_contain_text("Comment 1 of")
    done = []
    for position in range(60):
        if len(done) == 20:
            break
        comment_id = re.search(r"\bb-\d{5}\b", detail.inner_text()).group(0)
        want = label_of(live, comment_id)
        palette = page.get_by_role("list", name="Labels")
        if palette.get_by_role("button", name=f"Remove label {want}", exact=True).count():
            page.keyboard.press("j")
            expect(detail).to_contain_text(f"Comment {position + 2} of")
            continue
        if position == 5:
            page.keyboard.press("s")  # a few negative ones
            expect(page.get_by_role("button", name="Sentiment: negative")).to_be_visible()
        if position == 9:
            page.keyboard.press("s")
        apply = palette.get_by_role("button", name=f"Apply label {want}", exact=True)
        if apply.count():
            digit = apply.locator("kbd").inner_text()
            page.keyboard.press(digit)
        else:
            page.keyboard.press("/")
            page.keyboard.type(want.replace(" > ", ">"))
            page.keyboard.press("Enter")
        expect(palette.get_by_role("button", name=f"Remove label {want}", exact=True)).to_be_visible()
        done.append((comment_id, want))
        page.keyboard.press("j")
        expect(detail).to_contain_text(f"Comment {position + 2} of")
    assert len(done) == 20
    for comment_id, want in done:
        assert assigned(live, f"{live.source['id']}.{comment_id}") == [want]
    negatives = ok(live.admin.post(f"{PRIVATE}/statistics", json={"comment_filter": {}, "label_counts": True}))
    assert sum(c["negative"] for c in negatives["statistics"]["label_counts"].values()) > 0
    shot(page, "03-explore-labelled")

    # Train (as the automatic retrain would); the page says a new version is ready.
    job = ok(live.admin.post(f"{DATASET}/train", json={}), 202)["job"]
    expect(page.get_by_text("Model version 1 is ready")).to_be_visible(timeout=TRAINING)
    assert ok(live.admin.get(f"{DATASET}/train/{job['id']}"))["job"]["status"] == "succeeded"
    page.keyboard.press("r")
    expect(detail.get_by_role("meter").first).to_be_visible()
    page.keyboard.press("d")  # dismiss the top prediction not assigned
    expect(detail).to_contain_text("Dismissed:")
    shot(page, "04-explore")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "readme-explore.png"))  # docs/web-explore.png is a copy
    page.set_viewport_size({"width": 1400, "height": 900})

    # Validate: rating, a PR chart with its thresholds, train now with job status, pin live.
    page.get_by_role("link", name="Validate").click()
    expect(page.get_by_role("heading", name="Model version 1")).to_be_visible()
    expect(page.get_by_role("region", name="Model rating")).to_contain_text("/ 100")
    charts = page.get_by_role("img", name=re.compile("Precision-recall curve for"))
    expect(charts.first).to_be_visible()
    drawn = charts.filter(has=page.locator("polyline"))
    assert drawn.count() >= 1
    assert drawn.first.locator("circle").count() >= 1  # the thresholds marked on the curve
    page.get_by_role("button", name="Train now").click()
    expect(page.get_by_role("status").filter(has_text="Training")).to_contain_text(
        "Training succeeded: model version 2", timeout=TRAINING)
    page.get_by_label("Version to pin").select_option("1")
    page.get_by_label("Tag").select_option("live")
    page.get_by_role("button", name="Pin").click()
    expect(page.get_by_role("table", name="Model versions").get_by_role("row", name=re.compile("v1 .*live"))).to_be_visible()
    tags = ok(live.admin.get(f"{DATASET}/model-tags"))["model_tags"]
    assert [(t["name"], t["version"]) for t in tags] == [("live", 1)]
    shot(page, "05-validate")

    # Taxonomy and Reports show the labels and their volume.
    page.get_by_role("link", name="Taxonomy").click()
    tree = page.get_by_role("table", name="Label tree")
    expect(tree.get_by_role("row", name=re.compile("^Arrival"))).to_be_visible()
    shot(page, "06-taxonomy")
    failed = [f"{live.source['id']}.{c}" for c, want in done if want == "Top Up > Failed"]
    page.get_by_role("button", name="Rename or move Top Up > Failed").click()
    page.get_by_label("New path for Top Up > Failed").fill("Payments > Top-up failed")
    page.get_by_role("button", name="Save").click()
    expect(tree.get_by_role("row", name=re.compile("^Top-up failed"))).to_be_visible()
    page.get_by_role("button", name="Delete Top Up", exact=True).click()
    page.get_by_role("button", name=re.compile("^Confirm delete Top Up and")).click()
    expect(page.get_by_role("status").first).to_contain_text("Deleted “Top Up”")
    names = [d["name"] for d in ok(live.admin.get(DATASET))["dataset"]["label_defs"]]
    assert "Payments > Top-up failed" in names and not [n for n in names if n.startswith("Top Up")]
    for uid in failed:
        assert assigned(live, uid) == ["Payments > Top-up failed"]
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("img", name="Label volume over time")).to_be_visible()
    page.get_by_label("User property").select_option("string:Channel")
    page.get_by_label("Value").select_option("chat")
    page.get_by_role("button", name="Show report").click()
    expect(page.get_by_text("20 comments.")).to_be_visible()
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
    shot(page, "07-reports")

    # Streams: create with a threshold, rewind it, preview its next batch.
    page.get_by_role("link", name="Streams").click()
    form = page.get_by_role("form", name="Create stream")
    form.get_by_label("Stream name").fill("refunds")
    form.get_by_label("Model version").select_option("1")
    form.get_by_label("Threshold for Refund > Request").fill("0.3")
    form.get_by_role("button", name="Create stream").click()
    expect(page.get_by_role("table", name="Streams").get_by_role("cell", name="refunds", exact=True)).to_be_visible()
    stream = ok(live.admin.get(f"{DATASET}/streams/refunds"))["stream"]
    assert stream["model"] == {"version": 1, "label_thresholds": [{"name": ["Refund", "Request"], "threshold": 0.3}]}
    page.get_by_role("button", name="Reset stream refunds").click()
    expect(page.get_by_role("status").first).to_contain_text("reset")
    page.get_by_role("button", name="Preview stream refunds").click()
    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_contain_text("20 results")
    expect(preview.get_by_role("listitem").first).to_be_visible()
    shot(page, "08-streams")

    page.get_by_role("link", name="Datasets").click()
    row = page.get_by_role("table", name="Datasets").get_by_role("row", name=re.compile(r"^acme triage"))
    expect(row).to_contain_text(re.compile(r"triage\s*60\s*2\d\s*8\s*\d+\.\d \((none|poor|average|good|excellent)\)"))
    shot(page, "01-datasets")


def test_read_only_user_sees_no_write_controls_and_the_api_refuses_writes(live, page):
    make_dataset(live.admin, "acme", "readonly", source_ids=[live.source["id"]], label_defs=[{"name": "Billing > Refund"}])
    reader = make_user(live.app, "reader", projects={"acme": ["sources-read", "voc-readonly", "streams-read"]})
    sign_in(page, live, reader.token)
    expect(page.get_by_role("heading", name="Projects and datasets")).to_be_visible()
    expect(page.get_by_role("form", name="Create dataset")).to_have_count(0)

    page.goto(live.url + "/ui/acme/readonly/explore")
    expect(page.get_by_role("article", name="Comment")).to_contain_text("Comment 1 of")
    expect(page.get_by_role("complementary", name="Labelling")).to_have_count(0)
    page.keyboard.press("1")  # no label and no permission: nothing happens
    shot(page, "09-read-only-explore")
    page.goto(live.url + "/ui/acme/readonly/discover")
    expect(page.get_by_text(re.compile(r"60 comments in"))).to_be_visible(timeout=TRAINING)
    clusters = page.get_by_role("region", name=re.compile(r"^Cluster \d+$"))
    expect(clusters.first).to_be_visible()
    expect(clusters.get_by_role("checkbox")).to_have_count(0)
    expect(clusters.get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("button", name="Apply label to selected")).to_have_count(0)
    page.goto(live.url + "/ui/acme/readonly/taxonomy")
    expect(page.get_by_role("heading", name="Taxonomy")).to_be_visible()
    expect(page.get_by_role("table", name="Label tree").get_by_role("row", name=re.compile("^Refund"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^(Rename|Delete)"))).to_have_count(0)
    page.goto(live.url + "/ui/acme/readonly/validate")
    expect(page.get_by_text("No model has been trained yet.")).to_be_visible()
    expect(page.get_by_role("button", name="Train now")).to_have_count(0)
    page.goto(live.url + "/ui/acme/readonly/streams")
    expect(page.get_by_role("heading", name="Streams")).to_be_visible()
    expect(page.get_by_role("form", name="Create stream")).to_have_count(0)

    # The same writes, sent as a script would, are refused.
    uid = f"{live.source['id']}.b-00000"
    base = "/api/_private/datasets/acme/readonly"
    body = {"labelling": [{"group": "default", "assigned": [{"name": "X", "sentiment": "positive"}]}]}
    for response in (
        reader.post(f"{base}/labellings/{uid}", json=body),
        reader.post("/api/v1/datasets/acme/readonly/train", json={}),
        reader.put("/api/v1/datasets/acme/readonly/streams", json={"stream": {"name": "s"}}),
        reader.put("/api/v1/datasets/acme/other", json={"dataset": {}}),
        reader.put("/api/v1/datasets/acme/readonly/model-tags/live", json={"version": 1}),
        reader.post(f"{base}/labels/default/rename", json={"name": "Billing", "new_name": "Money"}),
        reader.delete(f"{base}/labels/default", query_string={"name": "Billing"}),
    ):
        assert response.status_code == 403, response.get_data(as_text=True)
        assert response.get_json()["status"] == "error"
    read = ok(live.admin.get(f"{base}/labellings", query_string={"id": uid}))["results"]
    assert "labelling" not in read[0] or not read[0]["labelling"][0].get("assigned")


def test_explore_lists_a_comments_attachments_and_downloads_them(live, page):
    # A source and dataset of their own, so the other tests' counts stay as they are.
    source = ok(live.admin.put("/api/v1/sources/acme/files", json={"source": {}}))["source"]
    report = b"%PDF-1.4 " + bytes(range(256)) * 6  # 1,545 bytes, not all text
    ok(live.admin.put(f"/api/_private/sources/id:{source['id']}/comments/att-1/attachments/0",
                      data={"file": (io.BytesIO(report), "report.pdf")}, content_type="multipart/form-data"))
    ok(live.admin.put("/api/_private/sources/acme/files/comments", json={"comments": [{
        "id": "att-1", "timestamp": "2024-05-01T10:00:00Z", "messages": [{"body": {"text": "Invoice attached."}}],
        "attachments": [{"name": "report.pdf", "size": len(report), "content_type": "application/pdf"},
                        {"name": "photo.png", "size": 12, "content_type": "image/png"}]}]}))
    make_dataset(live.admin, "acme", "files", source_ids=[source["id"]])

    sign_in(page, live, live.admin.token)
    expect(page.get_by_role("heading", name="Projects and datasets")).to_be_visible()
    page.goto(live.url + "/ui/acme/files/explore")
    files = page.get_by_role("article", name="Comment").get_by_role("region", name="Attachments")
    items = files.get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("report.pdf 1.5 KiB · application/pdf")
    # The second file's bytes were never uploaded: listed, with nothing to download.
    expect(items.nth(1)).to_contain_text("photo.png 12 bytes · image/png (content not uploaded)")
    expect(items.nth(1).get_by_role("button")).to_have_count(0)
    shot(page, "10-explore-attachments")
    with page.expect_download() as downloading:
        files.get_by_role("button", name="Download report.pdf").click()
    saved = downloading.value
    assert saved.suggested_filename == "report.pdf"
    assert Path(saved.path()).read_bytes() == report
