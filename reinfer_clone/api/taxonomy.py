"""Rename, move and delete labels (our extension; the web interface's Taxonomy page uses it)."""
from flask import Blueprint, request
from marshmallow import fields

from ..schemas.taxonomy import DeleteLabelQuery, RenameLabelRequest
from ..services import datasets, taxonomy, training
from .spec import doc
from .support import config, db, load, ok, requires

bp = Blueprint("taxonomy", __name__, url_prefix="/api/_private/datasets")


@bp.post("/<project>/<name>/labels/<group>/rename")
@requires("voc")
@doc(body=RenameLabelRequest, response={"renamed_labels": fields.Integer(required=True),
                                        "updated_comments": fields.Integer(required=True)})
def rename_label(project, name, group):
    body = load(RenameLabelRequest())
    dataset = datasets.get_by_name(db(), project, name)
    result = taxonomy.rename_label(db(), dataset, group, body["name"], body["new_name"])
    if result["updated_comments"]:
        training.schedule_retrain(db(), dataset, config().retrain_delay)
    return ok(**result)


@bp.delete("/<project>/<name>/labels/<group>")
@requires("voc")
@doc(query=DeleteLabelQuery, response={"deleted_labels": fields.Integer(required=True),
                                       "updated_comments": fields.Integer(required=True)})
def delete_label(project, name, group):
    query = load(DeleteLabelQuery(), data=request.args.to_dict())
    dataset = datasets.get_by_name(db(), project, name)
    result = taxonomy.delete_label(db(), dataset, group, query["name"])
    if result["updated_comments"]:
        training.schedule_retrain(db(), dataset, config().retrain_delay)
    return ok(**result)
