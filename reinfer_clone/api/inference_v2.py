"""`/v2/models`: the Labelf-compatible inference API (contract §14)."""
from flask import Blueprint

from ..schemas.inference_v2 import InferenceRequest
from ..services import inference_v2
from .support import config, db, load, ok, principal

bp = Blueprint("inference_v2", __name__, url_prefix="/v2")


# A plain segment, not <int:>: a non-numeric id must still get 401 before 404.
@bp.post("/models/<model_id>/inference")
def inference(model_id):
    texts = load(InferenceRequest())["texts"]
    dataset = inference_v2.dataset_for(db(), model_id, principal())
    return ok(**inference_v2.infer(db(), dataset, texts, limit=config().max_predicted_labels))


@bp.get("/models")
def list_models():
    return ok(models=inference_v2.list_models(db(), principal()))
