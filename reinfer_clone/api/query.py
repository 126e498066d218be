from flask import Blueprint, Response, request
from marshmallow import fields

from ..schemas import responses as r
from ..schemas.query import QueryRequest, RecentRequest, StatisticsRequest, SummaryRequest
from ..services import datasets, query
from .spec import doc
from .support import config, db, load, ok, ok_items, readable_dataset, require_sources_read, requires

bp = Blueprint("query", __name__, url_prefix="/api/_private/datasets")

RECENT = {"kind": "recent"}



def _wants_csv() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


def _page(results, continuation):
    # Encoded item by item: a page of a many-label model as objects took gigabytes.
    return ok_items("results", results, **({"continuation": continuation} if continuation else {}))


@bp.post("/<project>/<name>/query")
@requires("voc-readonly")
@requires("sources-read")
@doc(body=QueryRequest,
     response={"results": [r.AnnotatedCommentSchema], "continuation": fields.String()})
def query_comments(project, name):
    body = load(QueryRequest())
    dataset = readable_dataset(project, name)
    selection = query.Selection.of(body["filter"], body["attribute_filters"], body.get("search"))
    args = (db(), dataset, selection, body["order"], body.get("limit"), body.get("continuation"))
    if _wants_csv():
        return Response(query.csv_lines(*args), mimetype="text/csv")
    return _page(*query.page(*args, max_predicted_labels=config().max_predicted_labels))


@bp.post("/<project>/<name>/recent")
@requires("voc-readonly")
@requires("sources-read")
@doc(body=RecentRequest,
     response={"results": [r.AnnotatedCommentSchema], "continuation": fields.String()})
def recent_comments(project, name):
    body = load(RecentRequest())
    dataset = readable_dataset(project, name)
    selection = query.Selection.of(body["filter"])
    return _page(*query.page(db(), dataset, selection, RECENT, body.get("limit"), body.get("continuation"),
                             max_predicted_labels=config().max_predicted_labels))


@bp.post("/<project>/<name>/statistics")
@requires("voc-readonly")
@doc(body=StatisticsRequest, response={"statistics": r.Obj(required=True)})
def dataset_statistics(project, name):
    body = load(StatisticsRequest())
    dataset = datasets.get_by_name(db(), project, name)
    selection = query.Selection.of(body["comment_filter"], body["attribute_filters"], field="comment_filter")
    if body["comment_filter"] or body["attribute_filters"]:
        # Counts over the whole dataset are the dataset's; counts narrowed by the
        # comments' sources or content tell about those comments.
        require_sources_read(selection.comment_filter.source_ids(dataset.source_ids))
    resolution = (body.get("time_resolution") or "day") if body["label_timeseries"] else None
    label_counts = body["label_counts"] or body["label_timeseries"]
    return ok(statistics=query.statistics(db(), dataset, selection, label_counts, resolution,
                                          by_user=body["reviewed_by_user"]))


@bp.post("/<project>/<name>/summary")
@requires("voc-readonly")
@requires("sources-read")
@doc(body=SummaryRequest, response={"summary": r.Obj(required=True)})
def dataset_summary(project, name):
    body = load(SummaryRequest())
    dataset = readable_dataset(project, name)
    selection = query.Selection.of(body["filter"], body["attribute_filters"])
    return ok(summary=query.summary(db(), dataset, selection))
