"""The Labelf-style `/v2/models/<id>/inference` route (contract §14)."""
import pytest

from ..helpers import error, make_dataset, make_project, make_source, make_user, ok, sync
from .test_training import corpus, label_all

DS = "/api/v1/datasets/acme/triage"


@pytest.fixture
def model_id(admin):
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    dataset = make_dataset(admin, "acme", "triage", source_ids=[source["id"]])
    items = corpus()
    ok(sync(admin, [c for c, _, _ in items]))
    label_all(admin, source, items)
    return dataset["_labelf_model_id"]


def infer(client, model_id, texts):
    return client.post(f"/v2/models/{model_id}/inference", json={"texts": texts})


def test_untrained_and_unknown_models_are_404(admin, model_id):
    assert error(infer(admin, model_id, ["hello"]), 404) == "model version not found"
    assert error(infer(admin, model_id + 1000, ["hello"]), 404) == f"Model {model_id + 1000} not found."
    assert ok(admin.get("/v2/models"))["models"] == []


def test_one_text(admin, model_id):
    ok(admin.post(f"{DS}/train", json={"wait": True}))
    body = ok(infer(admin, model_id, ["the parcel 12 arrived broken and wet"]))
    assert body["model_id"] == model_id and body["text_language"] == "en"
    assert isinstance(body["processing_time_ms"], int) and body["processing_time_ms"] >= 0
    assert "results" not in body
    predictions = body["predictions"]
    assert len(predictions) == 6
    confidences = [p["confidence"] for p in predictions]
    assert confidences == sorted(confidences, reverse=True)
    assert predictions[0]["label"] in ("Delivery", "Delivery > Damaged")
    by_label = {p["label"]: p["confidence"] for p in predictions}
    assert by_label["Delivery"] >= by_label["Delivery > Damaged"] > 0.5
    assert ok(admin.get("/v2/models"))["models"] == [
        {"id": model_id, "name": "acme/triage", "version": 1, "family": "english"}]


def test_several_texts_detect_their_languages(admin, model_id):
    ok(admin.post(f"{DS}/train", json={"wait": True}))
    texts = ["Where is my refund for the order I returned?",
             "Wo ist meine Rückerstattung für die Bestellung?",
             "Où est mon remboursement pour la commande retournée ?",
             "¿Dónde está el reembolso de mi pedido devuelto?",
             "Dov'è il rimborso per l'ordine che ho restituito?",
             "Где мой возврат денег за заказ?",
             "Var är min återbetalning för beställningen?",
             "返品した注文の返金はどこですか？"]
    body = ok(infer(admin, model_id, texts))
    assert [r["text_language"] for r in body["results"]] == ["en", "de", "fr", "es", "it", "ru", "sv", "ja"]
    assert body["text_language"] == "en"
    assert body["predictions"] == body["results"][0]["predictions"]
    assert all(len(r["predictions"]) == 6 for r in body["results"])


def test_live_tag_picks_the_version(admin, model_id):
    ok(admin.post(f"{DS}/train", json={"wait": True}))
    ok(admin.post(f"{DS}/train", json={"wait": True}))
    ok(admin.put(f"{DS}/model-tags/live", json={"version": 1}))
    assert ok(admin.get("/v2/models"))["models"][0]["version"] == 1
    assert ok(infer(admin, model_id, ["refund please"]))["version"] == 1


@pytest.mark.parametrize("texts", [[], ["a"] * 9, [""], ["   "], [1], None, "refund"])
def test_bad_texts_are_400(admin, model_id, texts):
    ok(admin.post(f"{DS}/train", json={"wait": True}))
    assert "texts" in error(infer(admin, model_id, texts), 400)


def test_permissions(app, admin, anon, model_id):
    ok(admin.post(f"{DS}/train", json={"wait": True}))
    assert infer(anon, model_id, ["hi"]).status_code == 401
    stranger = make_user(app, "stranger", projects={"other": ["voc-readonly"]})
    # A model of a project one has no code on answers like an unknown model.
    assert error(infer(stranger, model_id, ["hi"]), 404) == f"Model {model_id} not found."
    assert ok(stranger.get("/v2/models"))["models"] == []
    sources_only = make_user(app, "sources", projects={"acme": ["sources-read"]})
    assert "voc-readonly" in error(infer(sources_only, model_id, ["hi"]), 403)
    reader = make_user(app, "reader", projects={"acme": ["voc-readonly"]})
    assert ok(infer(reader, model_id, ["hi"]))["model_id"] == model_id
