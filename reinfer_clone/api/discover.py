"""Discover (our extension): cluster a dataset's comments into named topics."""
from flask import Blueprint
from marshmallow import fields

from ..schemas import responses as r
from ..schemas.discover import DiscoverRequest
from ..services import discover as discover_service
from ..services.comment_filter import CommentFilter
from .spec import doc
from .support import config, db, load, ok, readable_dataset, requires

bp = Blueprint("discover", __name__)



@bp.post("/api/_private/datasets/<project>/<name>/discover")
@requires("voc-readonly")
@doc(body=DiscoverRequest,
     response={"clusters": r.ObjList(required=True), "num_comments": fields.Integer(required=True)})
def discover(project, name):
    body = load(DiscoverRequest())
    dataset = readable_dataset(project, name)
    comment_filter = CommentFilter.from_loaded(body.pop("filter"))
    # The other fields are the service's keyword arguments, by the same names.
    return ok(**discover_service.discover(db(), dataset, comment_filter, **body,
                                         limit=config().max_discover_comments))
