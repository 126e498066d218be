from flask import Blueprint, request
from marshmallow import fields

from ..schemas import responses as r
from ..schemas.labellings import LabellingRequest, LabellingsQuery
from ..services import datasets, labellings, training
from .spec import doc
from .support import (config, db, load, ok, ok_items, principal, readable_dataset, require_sources_read,
                      requires)

bp = Blueprint("labellings", __name__)


@bp.post("/api/_private/datasets/<project>/<name>/labellings/<path:uid>")
@doc(body=LabellingRequest,
     response={
         "comment": r.CommentSchema,
         "labelling": r.ObjList(),
         "entities": r.Obj(),
         "moon_forms": r.ObjList(),
     },
     permission="`datasets-review` or `voc` on the project named in the path.")
def write_labelling(project, name, uid):
    principal().require_any(("voc", "datasets-review"), project)
    body = load(LabellingRequest())
    dataset = datasets.get_by_name(db(), project, name)
    # The answer carries the comment: its text is for readers of its source.
    require_sources_read([labellings.source_in(dataset, uid)])
    item = labellings.write(db(), dataset, uid, body.get("labelling"), body.get("entities"),
                            body.get("moon_forms"), user_id=principal().user_id)
    if "labelling" in body:
        training.schedule_retrain(db(), dataset, config().retrain_delay)
    hints = labellings.separator_hints(body.get("labelling"))
    return ok(**item, **({"warnings": hints} if hints else {}))


@bp.get("/api/_private/datasets/<project>/<name>/labellings")
@requires("voc-readonly")
@doc(query=LabellingsQuery.from_dict({"id": fields.List(fields.String())}, name="LabellingsQueryString"),
     response={"results": [r.AnnotatedCommentSchema], "after": fields.String()})
def read_labellings(project, name):
    dataset = readable_dataset(project, name)
    uids = request.args.getlist("id")
    if uids:
        return ok(results=labellings.read_by_uids(db(), dataset, uids))
    query = load(LabellingsQuery(), data=request.args.to_dict())
    if "source_id" not in query:
        return ok(results=[])
    results, after = labellings.read_reviewed(db(), dataset, query["source_id"], query.get("after"),
                                              query["limit"], query["return_predictions"],
                                              max_predicted_labels=config().max_predicted_labels)
    return ok_items("results", results, **({"after": after} if after else {}))
