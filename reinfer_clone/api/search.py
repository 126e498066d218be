"""Keyword and semantic search over a dataset's comments (our extension route)."""
from flask import Blueprint

from ..schemas import responses as r
from ..schemas.search import SearchRequest
from ..services.search.dataset import search_dataset
from ..services.query import Selection
from .spec import doc
from .support import db, load, ok, readable_dataset, requires

bp = Blueprint("search", __name__, url_prefix="/api/_private/datasets")


@bp.post("/<project>/<name>/search")
@requires("voc-readonly")
@doc(body=SearchRequest, response={"results": r.ObjList(required=True)})
def search_comments(project, name):
    body = load(SearchRequest())
    dataset = readable_dataset(project, name)
    selection = Selection.of(body["filter"], body["attribute_filters"])
    results = search_dataset(db(), dataset, body["query"], body["kind"], body["limit"], selection)
    return ok(results=results)
