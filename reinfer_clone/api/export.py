"""The bulk export of a dataset's comments with their labellings and predictions."""
from flask import Blueprint
from marshmallow import fields

from ..schemas import responses as r
from ..schemas.export import ExportRequest
from ..services import export
from .spec import doc
from .support import config, db, load, ok_items, readable_dataset, requires

bp = Blueprint("export", __name__)


@bp.post("/api/v1/datasets/<project>/<name>/export")
@requires("datasets-export")
@doc(body=ExportRequest,
     response={"comments": [r.AnnotatedCommentSchema], "continuation": fields.String()})
def export_dataset(project, name):
    body = load(ExportRequest())
    dataset = readable_dataset(project, name, with_labels=False)
    items, continuation = export.export_page(
        db(), dataset, body.get("comment_uids"), body.get("source_ids"), body["order_by"],
        body.get("from_"), body.get("to"), body.get("continuation"), body["limit"],
        max_predicted_labels=config().max_predicted_labels,
    )
    return ok_items("comments", items, **({"continuation": continuation} if continuation else {}))
