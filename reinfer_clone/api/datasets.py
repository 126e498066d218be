from flask import Blueprint

from ..schemas import responses as r
from ..schemas.datasets import (
    DatasetSchema,
    DatasetUpdateRequest,
    LabelDefsRequest,
    NewDatasetRequest,
)
from ..services import datasets
from .spec import doc
from .support import db, load, ok, principal, requires

# Routes live under both /api/v1 and /api/_private.
bp = Blueprint("datasets", __name__, url_prefix="/api")
dataset_schema = DatasetSchema()


@bp.get("/v1/datasets")
@doc(response={"datasets": [DatasetSchema]},
     permission="Any valid token; lists datasets of projects where the caller has `voc-readonly`.")
def list_datasets():
    visible = datasets.list_visible(db(), principal())
    return ok(datasets=dataset_schema.dump(visible, many=True))


@bp.get("/v1/datasets/<project>")
@requires("voc-readonly")
@doc(response={"datasets": [DatasetSchema]})
def list_project_datasets(project):
    return ok(datasets=dataset_schema.dump(datasets.list_in_project(db(), project), many=True))


@bp.get("/v1/datasets/id:<dataset_id>")
@doc(response={"dataset": DatasetSchema}, permission="`voc-readonly` on the dataset's project.")
def get_dataset_by_id(dataset_id):
    dataset = datasets.get_by_id(db(), dataset_id, principal(), "voc-readonly")
    return ok(dataset=dataset_schema.dump(dataset))


@bp.get("/v1/datasets/<project>/<name>")
@requires("voc-readonly")
@doc(response={"dataset": DatasetSchema})
def get_dataset(project, name):
    return ok(dataset=dataset_schema.dump(datasets.get_by_name(db(), project, name)))


@bp.put("/v1/datasets/<project>/<name>")
@requires("voc")
@doc(body=NewDatasetRequest, response={"dataset": DatasetSchema})
def create_dataset(project, name):
    fields = load(NewDatasetRequest())["dataset"]
    dataset = datasets.create(db(), principal(), project, name, **fields)
    return ok(dataset=dataset_schema.dump(dataset))


@bp.post("/v1/datasets/<project>/<name>")
@requires("datasets-admin")
@doc(body=DatasetUpdateRequest, response={"dataset": DatasetSchema})
def update_dataset(project, name):
    changes = load(DatasetUpdateRequest())["dataset"]
    dataset = datasets.get_by_name(db(), project, name)
    dataset = datasets.update(db(), principal(), dataset, **changes)
    return ok(dataset=dataset_schema.dump(dataset))


@bp.delete("/v1/datasets/id:<dataset_id>")
@doc(permission="`datasets-admin` on the dataset's project.")
def delete_dataset_by_id(dataset_id):
    dataset = datasets.get_by_id(db(), dataset_id, principal(), "datasets-admin")
    datasets.delete(db(), dataset)
    return ok()


@bp.delete("/v1/datasets/<project>/<name>")
@requires("datasets-admin")
@doc()
def delete_dataset(project, name):
    datasets.delete(db(), datasets.get_by_name(db(), project, name))
    return ok()


@bp.get("/v1/datasets/<project>/<name>/model-tags")
@doc(response={"model_tags": [r.ModelTagSchema]},
     permission="`voc-readonly` or `model-admin` on the project named in the path.")
def list_model_tags(project, name):
    principal().require_any(("model-admin", "voc-readonly"), project)
    dataset = datasets.get_by_name(db(), project, name)
    return ok(model_tags=datasets.list_model_tags(db(), dataset))


@bp.put("/_private/datasets/<project>/<name>/labels/<group>")
@requires("voc")
@doc(body=LabelDefsRequest)
def put_label_defs(project, name, group):
    label_defs = load(LabelDefsRequest())["label_defs"]
    datasets.put_label_defs(db(), datasets.get_by_name(db(), project, name), group, label_defs)
    return ok()
