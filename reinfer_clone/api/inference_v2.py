"""`/v2/models`: the Labelf-compatible inference API (contract §14)."""
from flask import Blueprint
from marshmallow import fields

from ..schemas import responses as r
from ..schemas.inference_v2 import InferenceRequest
from ..services import inference_v2
from .spec import doc
from .support import config, db, load, ok, principal

bp = Blueprint("inference_v2", __name__, url_prefix="/v2")


# A plain segment, not <int:>: a non-numeric id must still get 401 before 404.
@bp.post("/models/<model_id>/inference")
@doc(body=InferenceRequest,
     response={
         "predictions": [r.InferenceSchema],
         "model_id": fields.Integer(required=True, allow_none=True),
         "text_language": fields.String(allow_none=True),
         "version": fields.Integer(required=True),
         "results": fields.List(fields.Nested(r.InferenceResultSchema)),  # only for several texts
         "processing_time_ms": fields.Integer(required=True),
     },
     permission="`voc-readonly` on the project of the model's dataset.")
def inference(model_id):
    texts = load(InferenceRequest())["texts"]
    dataset = inference_v2.dataset_for(db(), model_id, principal())
    return ok(**inference_v2.infer(db(), dataset, texts, limit=config().max_predicted_labels))


@bp.get("/models")
@doc(response={"models": [r.V2ModelSchema]},
     permission="Any valid token; lists models of datasets where the caller has `voc-readonly`.")
def list_models():
    return ok(models=inference_v2.list_models(db(), principal()))
