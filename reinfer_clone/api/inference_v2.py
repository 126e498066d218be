"""`/v2/models`: the Labelf-compatible models API (contract §14)."""
from flask import Blueprint
from marshmallow import fields

from ..schemas import responses as r
from ..schemas.inference_v2 import InferenceRequest, MultiInferenceRequest
from ..services import inference_v2
from .spec import doc
from .support import config, db, load, ok, ok_page, principal

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
    body = load(InferenceRequest())
    dataset = inference_v2.dataset_for(db(), model_id, principal())
    # orjson: a few hundred finite confidences per request, encoded ~10x faster.
    return ok_page(**inference_v2.infer(db(), dataset, body.pop("texts"), limit=config().max_predicted_labels,
                                        **body))


@bp.post("/models/inference")
@doc(body=MultiInferenceRequest,
     response={"results": fields.List(fields.Dict(), required=True),
               "model_ids": fields.List(fields.Integer(), required=True),
               "processing_time_ms": fields.Integer(required=True)},
     permission="`voc-readonly` on the project of every model's dataset (a model of a project without "
                "any code answers 404, like an unknown one).")
def multi_inference():
    body = load(MultiInferenceRequest())
    return ok_page(**inference_v2.infer_many(db(), principal(), body.pop("model_ids"), body.pop("texts"),
                                             limit=config().max_predicted_labels, **body))


@bp.get("/models/<model_id>")
@doc(response={"model": fields.Dict(required=True)},
     permission="`voc-readonly` on the project of the model's dataset.")
def get_model(model_id):
    dataset = inference_v2.dataset_for(db(), model_id, principal(), with_labels=True)
    return ok(model=inference_v2.describe(db(), dataset))


@bp.get("/models")
@doc(response={"models": [r.V2ModelSchema]},
     permission="Any valid token; lists models of datasets where the caller has `voc-readonly`.")
def list_models():
    return ok(models=inference_v2.list_models(db(), principal()))
