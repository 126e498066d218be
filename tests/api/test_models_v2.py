"""The multilingual model family and the Labelf models API: `GET /v2/models/<id>`,
`POST /v2/models/inference`, the single-model route's options."""
import pytest
from sqlalchemy import select

from reinfer_clone.classifier import LabelModel
from reinfer_clone.classifier.families import MULTILINGUAL, encoder_of
from reinfer_clone.models import Dataset, ModelVersion, TrainingJob

from ..helpers import comment, error, is_utc, make_dataset, make_project, make_source, make_user, ok, sync

# English training comments only; the other languages are never trained on.
ENGLISH = {
    "Account > Cancel": ["I want to cancel my subscription", "please end my contract",
                         "how do I close my account", "stop my membership, I am leaving",
                         "cancel my plan at the end of the month",
                         "I no longer want this service, terminate it"],
    "Billing > Refund": ["I want my money back", "please refund the payment",
                         "I was charged twice, refund me", "where is my refund",
                         "return the money you took from my card", "I need a refund for my order"],
    "Delivery > Late": ["my parcel has not arrived yet", "the delivery is a week late",
                        "when will my order be delivered", "the courier never came",
                        "my package is still not here", "shipping is taking too long"],
    "Login > Password": ["I forgot my password", "I cannot log in to my account",
                         "reset my password please", "the login page says wrong password",
                         "how do I change my password", "I am locked out of my account"],
}
FOREIGN = [
    ("Jag vill säga upp mitt abonnemang", "sv", "Account > Cancel"),
    ("Mitt paket har inte kommit än", "sv", "Delivery > Late"),
    ("Jag har glömt mitt lösenord", "sv", "Login > Password"),
    ("Ich möchte mein Geld zurück", "de", "Billing > Refund"),
    ("Ich möchte mein Abonnement kündigen", "de", "Account > Cancel"),
    ("Ich habe mein Passwort vergessen", "de", "Login > Password"),
    ("Mi paquete todavía no ha llegado", "es", "Delivery > Late"),
    ("Quiero cancelar mi suscripción", "es", "Account > Cancel"),
]


def labelled_dataset(admin, name, family=None, project="acme"):
    """A dataset over its own source with the English comments reviewed; its model id."""
    source = make_source(admin, project, f"{name}-inbox")
    fields = {"source_ids": [source["id"]]}
    if family:
        fields["model_family"] = family
    dataset = make_dataset(admin, project, name, **fields)
    items = [(comment(i * 10 + k, id=f"{name}-{i}-{k}", messages=[{"body": {"text": text}}]), label)
             for i, (label, texts) in enumerate(ENGLISH.items()) for k, text in enumerate(texts)]
    ok(sync(admin, [c for c, _ in items], project=project, source=f"{name}-inbox"))
    for c, label in items:
        ok(admin.post(f"/api/_private/datasets/{project}/{name}/labellings/{source['id']}.{c['id']}",
                      json={"labelling": [{"group": "default", "assigned": [{"name": label, "sentiment": "positive"}]}]}))
    return dataset["_labelf_model_id"]


def train(admin, name, project="acme"):
    return ok(admin.post(f"/api/v1/datasets/{project}/{name}/train", json={"wait": True}))


def infer(client, model_id, texts, **options):
    return client.post(f"/v2/models/{model_id}/inference", json={"texts": texts, **options})


def multi(client, model_ids, texts, **options):
    return client.post("/v2/models/inference", json={"texts": texts, "model_ids": model_ids, **options})


def top_leaf(predictions):
    return next(p["label"] for p in predictions if " > " in p["label"])


def encoder_of_version(session, name, version):
    session.rollback()
    dataset_id = session.scalar(select(Dataset.id).where(Dataset.name == name))
    row = session.scalar(select(ModelVersion).where(ModelVersion.dataset_id == dataset_id,
                                                    ModelVersion.version == version))
    return encoder_of(LabelModel.from_bytes(row.artifact).embedding_model_id)


@pytest.fixture
def project(admin):
    make_project(admin, "acme")


def test_multilingual_model_trained_in_english_reads_other_languages(admin, project, session):
    model_id = labelled_dataset(admin, "intl", family="multilingual")
    train(admin, "intl")
    assert encoder_of_version(session, "intl", 1) == MULTILINGUAL
    texts = [t for t, _, _ in FOREIGN]
    body = ok(infer(admin, model_id, texts))
    for (text, language, label), result in zip(FOREIGN, body["results"]):
        assert result["text_language"] == language, text
        assert top_leaf(result["predictions"]) == label, (text, result["predictions"][:3])
    # Stored-comment predictions and search use the same encoder: a Swedish
    # query finds the English cancellation comments first.
    found = ok(admin.post("/api/_private/datasets/acme/intl/search",
                          json={"query": "Jag vill säga upp mitt abonnemang", "kind": "semantic", "limit": 3}))
    assert [r["comment"]["id"][:len("intl-0-")] for r in found["results"]] == ["intl-0-"] * 3, found


def test_switching_family_retrains_with_the_other_encoder(admin, project, session):
    model_id = labelled_dataset(admin, "switch")
    train(admin, "switch")
    assert encoder_of_version(session, "switch", 1) != MULTILINGUAL
    assert ok(admin.get(f"/v2/models/{model_id}"))["model"]["family"] == "english"

    # An unchanged family queues nothing; another one queues a training job.
    ok(admin.post("/api/v1/datasets/acme/switch", json={"dataset": {"model_family": "english"}}))
    assert ok(admin.get(f"/v2/models/{model_id}"))["model"]["training"]["status"] == "succeeded"
    updated = ok(admin.post("/api/v1/datasets/acme/switch", json={"dataset": {"model_family": "multilingual"}}))
    assert updated["dataset"]["model_family"] == "multilingual"
    model = ok(admin.get(f"/v2/models/{model_id}"))["model"]
    assert model["family"] == "multilingual" and model["training"]["status"] == "queued"
    assert model["training"]["reason"] == "requested"
    # Until the new version exists, version 1 keeps serving with its own encoder.
    assert ok(infer(admin, model_id, ["I forgot my password"]))["version"] == 1

    trained = train(admin, "switch")  # runs the queued job
    assert trained["model"]["version"] == 2
    assert encoder_of_version(session, "switch", 2) == MULTILINGUAL
    body = ok(infer(admin, model_id, ["Ich habe mein Passwort vergessen"]))
    assert body["version"] == 2 and top_leaf(body["predictions"]) == "Login > Password"
    session.rollback()
    assert session.scalar(select(TrainingJob.status).where(TrainingJob.status == "queued")) is None
    # The client's bare message, as on creation; nothing changes.
    assert error(admin.post("/api/v1/datasets/acme/switch", json={"dataset": {"model_family": "klingon"}}),
                 400).startswith("'klingon' is not one of ['english'")
    assert ok(admin.get(f"/v2/models/{model_id}"))["model"]["family"] == "multilingual"


def test_models_api_and_multi_model_inference(app, admin, project):
    english = labelled_dataset(admin, "topics")
    intl = labelled_dataset(admin, "intl", family="german")
    train(admin, "topics")
    train(admin, "intl")
    ok(admin.put("/api/v1/datasets/acme/intl/model-tags/live", json={"version": 1}))

    model = ok(admin.get(f"/v2/models/{intl}"))["model"]
    assert model["id"] == intl and model["name"] == "acme/intl" and model["family"] == "german"
    everything = sorted({*ENGLISH, "Account", "Billing", "Delivery", "Login"})
    assert sorted(model["labels"]) == everything
    assert model["live_version"] == 1
    [version] = model["versions"]
    assert version["version"] == 1 and version["tags"] == ["live"] and is_utc(version["created_at"])
    assert sorted(version["labels"]) == everything
    assert version["reviewed_size"] == 24
    validation = version["validation"]
    assert validation["train_size"] + validation["test_size"] == 24
    assert isinstance(validation["train_size"], int) and 0 <= validation["mean_average_precision"] <= 1
    assert set(validation["model_rating"]) == {"score", "quality"}
    training = model["training"]
    assert training["status"] == "succeeded" and training["model_version"] == 1
    assert is_utc(training["created_at"]) and is_utc(training["finished_at"])
    listed = {m["id"]: m for m in ok(admin.get("/v2/models"))["models"]}
    assert listed[english]["family"] == "english" and listed[intl]["version"] == 1

    texts = ["where is my refund", "Ich habe mein Passwort vergessen", "cancel my plan"]
    body = ok(multi(admin, [intl, english], texts))
    assert body["model_ids"] == [intl, english] and isinstance(body["processing_time_ms"], int)
    assert [r["text_language"] for r in body["results"]] == ["en", "de", "en"]
    for i, result in enumerate(body["results"]):
        assert [m["model_id"] for m in result["models"]] == [intl, english]
        for entry in result["models"]:
            # The same predictions as the single-model route gives.
            single = ok(infer(admin, entry["model_id"], [texts[i]]))
            assert entry["version"] == single["version"] == 1
            assert [p["label"] for p in entry["predictions"]] == [p["label"] for p in single["predictions"]]
            assert [p["confidence"] for p in entry["predictions"]] == \
                pytest.approx([p["confidence"] for p in single["predictions"]], abs=1e-6)
    assert top_leaf(body["results"][1]["models"][0]["predictions"]) == "Login > Password"
    assert top_leaf(body["results"][0]["models"][1]["predictions"]) == "Billing > Refund"

    # Options apply to every model.
    body = ok(multi(admin, [english, intl], ["where is my refund"], max_predictions=2, threshold=0.3))
    for entry in body["results"][0]["models"]:
        assert 1 <= len(entry["predictions"]) <= 2
        assert all(p["confidence"] >= 0.3 for p in entry["predictions"])

    # A reader of the project may use both; a stranger gets the 404 of an unknown id.
    reader = make_user(app, "reader", projects={"acme": ["voc-readonly"]})
    assert len(ok(multi(reader, [english, intl], ["hi"]))["results"][0]["models"]) == 2
    stranger = make_user(app, "stranger", projects={"other": ["voc-readonly"]})
    unknown = intl + 1000
    assert error(multi(stranger, [english], ["hi"]), 404) == f"Model {english} not found."
    assert error(multi(admin, [english, unknown], ["hi"]), 404) == f"Model {unknown} not found."
    assert error(stranger.get(f"/v2/models/{intl}"), 404) == f"Model {intl} not found."
    assert error(admin.get(f"/v2/models/{unknown}"), 404) == f"Model {unknown} not found."
    assert error(infer(stranger, intl, ["hi"]), 404) == f"Model {intl} not found."


def test_single_model_options(admin, project):
    model_id = labelled_dataset(admin, "opts")
    train(admin, "opts")
    full = ok(infer(admin, model_id, ["where is my refund"]))["predictions"]
    assert len(full) == 8
    assert ok(infer(admin, model_id, ["where is my refund"], max_predictions=3))["predictions"] == full[:3]
    kept = ok(infer(admin, model_id, ["where is my refund"], threshold=0.5))["predictions"]
    assert kept == [p for p in full if p["confidence"] >= 0.5] and 1 <= len(kept) < 8
    wanted = ["Login > Password", "Billing > Refund"]
    body = ok(infer(admin, model_id, ["where is my refund", "I forgot my password"], label_filter=wanted))
    for result in body["results"]:
        assert sorted(p["label"] for p in result["predictions"]) == sorted(wanted)
    assert body["results"][0]["predictions"][0]["label"] == "Billing > Refund"
    message = error(infer(admin, model_id, ["hi"], label_filter=["Billing > Refund", "Nope"]), 400)
    assert message.startswith("label_filter.1:") and "Nope" in message


@pytest.mark.parametrize("body, field", [
    ({"texts": ["hi"]}, "model_ids"),
    ({"texts": ["hi"], "model_ids": []}, "model_ids"),
    ({"texts": ["hi"], "model_ids": "1"}, "model_ids"),
    ({"texts": ["hi"], "model_ids": ["x"]}, "model_ids.0"),
    ({"texts": ["hi"], "model_ids": [1, 1]}, "model_ids"),
    ({"texts": ["hi"], "model_ids": [0]}, "model_ids.0"),
    ({"texts": ["hi"], "model_ids": list(range(1, 12))}, "model_ids"),
    ({"texts": ["hi"] * 9, "model_ids": [1]}, "texts"),
    ({"texts": [], "model_ids": [1]}, "texts"),
    ({"model_ids": [1]}, "texts"),
    ({"texts": ["hi"], "model_ids": [1], "max_predictions": 0}, "max_predictions"),
    ({"texts": ["hi"], "model_ids": [1], "threshold": 1.5}, "threshold"),
])
def test_multi_inference_400s_name_the_field(admin, body, field):
    message = error(admin.post("/v2/models/inference", json=body), 400)
    assert message.startswith(f"Invalid request: {field}:"), message


@pytest.mark.parametrize("options, field", [
    ({"max_predictions": "3"}, "max_predictions"),
    ({"threshold": -0.1}, "threshold"),
    ({"label_filter": []}, "label_filter"),
    ({"label_filter": "Billing"}, "label_filter"),
])
def test_single_inference_option_400s(admin, options, field):
    message = error(infer(admin, 1, ["hi"], **options), 400)
    assert message.startswith(f"Invalid request: {field}:"), message
