"""`/v2/models`: the Labelf-compatible models API (contract §14)."""
from flask import Blueprint

from ..schemas.inference_v2 import InferenceRequest, MultiInferenceRequest
from ..services import inference_v2
from .support import db, load, ok, ok_page, principal

bp = Blueprint("inference_v2", __name__, url_prefix="/v2")


# A plain segment, not <int:>: a non-numeric id must still get 401 before 404.
@bp.post("/models/<model_id>/inference")
def inference(model_id):
    body = load(InferenceRequest())
    dataset = inference_v2.dataset_for(db(), model_id, principal())
    # orjson: a few hundred finite confidences per request, encoded ~10x faster.
    return ok_page(**inference_v2.infer(db(), dataset, body.pop("texts"), **body))


@bp.post("/models/inference")
def multi_inference():
    body = load(MultiInferenceRequest())
    return ok_page(**inference_v2.infer_many(db(), principal(), body.pop("model_ids"), body.pop("texts"),
                                             **body))


@bp.get("/models/<model_id>")
def get_model(model_id):
    dataset = inference_v2.dataset_for(db(), model_id, principal(), with_labels=True)
    return ok(model=inference_v2.describe(db(), dataset))


@bp.get("/models")
def list_models():
    return ok(models=inference_v2.list_models(db(), principal()))
