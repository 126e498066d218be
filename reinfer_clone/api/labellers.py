"""Training, model versions and tags, validation and predictions (contract §10,
§11; the train routes are our extension)."""
from flask import Blueprint, current_app
from marshmallow import fields

from ..errors import Unprocessable
from ..schemas import responses as r
from ..schemas.labellers import (
    LabelValidationRequest,
    ModelTagRequest,
    PredictCommentsRequest,
    PredictRequest,
    TrainRequest,
)
from ..services import datasets, model_versions, predictions, training
from .spec import doc
from .support import DB_EXTENSION, config, db, load, ok, ok_items, readable_dataset, requires

bp = Blueprint("labellers", __name__, url_prefix="/api")
DATASET = "/datasets/<project>/<name>"


def _database():
    return current_app.extensions[DB_EXTENSION]


def _dataset(project, name):
    return datasets.get_by_name(db(), project, name)



@bp.post(f"/v1{DATASET}/train")
@requires("model-admin")
@doc(body=TrainRequest, status=(200, 202),
     response={"job": r.TrainingJobSchema, "model": fields.Nested(r.ModelSummarySchema)})
def train(project, name):
    body = load(TrainRequest())
    dataset = _dataset(project, name)
    if not body["wait"]:
        job = training.request_training(db(), dataset)
        return ok(job=training.job_dict(job)), 202
    job = training.train_and_wait(_database(), db(), dataset)
    if job.status != "succeeded":
        raise Unprocessable(f"Training failed: {job.error}")
    version = model_versions.resolve(db(), dataset, str(job.model_version))
    return ok(model=model_versions.model_summary(version), job=training.job_dict(job))


@bp.get(f"/v1{DATASET}/train/<job_id>")
@requires("voc-readonly")
@doc(response={"job": r.TrainingJobSchema})
def training_job(project, name, job_id):
    return ok(job=training.job_dict(training.get_job(db(), _dataset(project, name), job_id)))


@bp.put(f"/v1{DATASET}/model-tags/<tag>")
@requires("model-admin")
@doc(body=ModelTagRequest, response={"model_tag": r.ModelTagSchema})
def set_model_tag(project, name, tag):
    version = load(ModelTagRequest())["version"]
    return ok(model_tag=model_versions.set_tag(db(), _dataset(project, name), tag, version))


@bp.post(f"/_private{DATASET}/labellers")
@requires("voc-readonly")
@doc(response={"labellers": [r.LabellerSchema]})
def list_labellers(project, name):
    versions = model_versions.list_versions(db(), _dataset(project, name))
    return ok(labellers=[{"version": v.version} for v in versions])


@bp.get(f"/_private{DATASET}/labellers/<version>/validation")
@bp.get(f"/v1{DATASET}/labellers/<version>/validation")
@requires("voc-readonly")
@doc(response={"label_groups": r.ObjList(required=True), "validation": r.Obj(required=True)})
def validation(project, name, version):
    dataset = _dataset(project, name)
    model = model_versions.resolve(db(), dataset, version)
    return ok(**model_versions.validation_response(dataset, model))


@bp.post(f"/_private{DATASET}/labellers/<version>/label-validation")
@requires("voc-readonly")
@doc(body=LabelValidationRequest, response={"label_validation": r.LabelValidationSchema})
def label_validation(project, name, version):
    label = load(LabelValidationRequest())["label"]
    model = model_versions.resolve(db(), _dataset(project, name), version)
    return ok(label_validation=model_versions.label_validation(model, label))


@bp.post(f"/v1{DATASET}/labellers/<version>/predict-comments")
@requires("voc-readonly")
@doc(body=PredictCommentsRequest,
     response={"predictions": r.ObjList(required=True), "model": r.ModelVersionRefSchema})
def predict_comments(project, name, version):
    body = load(PredictCommentsRequest())
    dataset = readable_dataset(project, name)
    model = model_versions.resolve(db(), dataset, version)
    results = predictions.predict_comments(db(), dataset, model, body["uids"], body.get("threshold"),
                                           body.get("labels"), limit=config().max_predicted_labels)
    return ok_items("predictions", results, model={"version": model.version, "time": model.created_at})


@bp.post(f"/v1{DATASET}/labellers/<version>/predict")
@requires("voc-readonly")
@doc(body=PredictRequest,
     response={"predictions": r.ObjList(required=True), "model": r.ModelVersionRefSchema})
def predict(project, name, version):
    body = load(PredictRequest())
    model = model_versions.resolve(db(), _dataset(project, name), version)
    results = predictions.predict_documents(db(), model, body["documents"], body.get("threshold"),
                                            body.get("labels"), limit=config().max_predicted_labels)
    return ok_items("predictions", results, model={"version": model.version, "time": model.created_at})
