from flask import Blueprint, request
from marshmallow import fields

from ..schemas import responses as r
from ..schemas.comments import CommentBatch, CommentPageQuery, parse_comments
from ..wire import dump_comment
from ..schemas.fields import StrictBooleanFromString
from ..services import attachments, comments, sources
from ..services.labellings import annotated_pks
from .spec import doc
from .support import db, load, ok, ok_page, query_flag, requires

bp = Blueprint("comments", __name__)

MAX_PAGE = 256


def _batch() -> list[dict]:
    # A bad comment raises a ValidationError naming its index; nothing is written.
    return parse_comments(load(CommentBatch())["comments"])


@bp.put("/api/_private/sources/<project>/<name>/comments")
@bp.put("/api/v1/sources/<project>/<name>/comments")
@requires("sources-add-comments")
@doc(body=CommentBatch)
def upload_comments(project, name):
    records = _batch()
    comments.upload(db(), sources.get_by_name(db(), project, name), records)
    return ok()  # exactly {"status": "ok"}: the client decodes a unit struct


@bp.post("/api/v1/sources/<project>/<name>/sync")
@requires("sources-add-comments")
@doc(body=CommentBatch,
     response={
         "new": fields.Integer(required=True),
         "updated": fields.Integer(required=True),
         "unchanged": fields.Integer(required=True),
     })
def sync_comments(project, name):
    records = _batch()
    counts = comments.sync(db(), sources.get_by_name(db(), project, name), records)
    return ok(**counts)


@bp.get("/api/v1/sources/<project>/<name>/comments/<path:comment_id>")
@requires("sources-read")
@doc(query={"include_markup": StrictBooleanFromString()}, response={"comment": r.CommentSchema})
def get_comment(project, name, comment_id):
    comment = comments.get(db(), sources.get_by_name(db(), project, name), comment_id)
    reviewed = comment.pk in annotated_pks(db(), [comment.pk])
    stored = attachments.stored_indexes(db(), [comment]) if comment.attachments else {}
    return ok(comment=dump_comment(comment, query_flag("include_markup"), reviewed,
                                   stored.get((comment.source_id, comment.external_id))))


@bp.get("/api/_private/sources/<project>/<name>/comments")
@bp.get("/api/v1/sources/<project>/<name>/comments")
@requires("sources-read")
@doc(query=CommentPageQuery.from_dict({"include_markup": StrictBooleanFromString()}, name="PageQuery"),
     response={"comments": [r.CommentSchema], "continuation": fields.String()})
def list_comments(project, name):
    query = load(CommentPageQuery(), data=request.args.to_dict())
    page, continuation = comments.iterate(
        db(),
        sources.get_by_name(db(), project, name),
        limit=max(1, min(query["limit"], MAX_PAGE)),
        minimum=query.get("from_timestamp") or query.get("from_"),
        maximum=query.get("to_timestamp") or query.get("to"),
        after=query.get("after") or query.get("continuation"),
    )
    markup = query_flag("include_markup")
    reviewed = annotated_pks(db(), [c.pk for c in page])
    stored = attachments.stored_indexes(db(), [c for c in page if c.attachments])
    body = {"comments": [dump_comment(c, markup, c.pk in reviewed, stored.get((c.source_id, c.external_id)))
                         for c in page]}
    if continuation:
        body["continuation"] = continuation
    return ok_page(**body)


@bp.delete("/api/v1/sources/<project>/<name>/comments")
@bp.delete("/api/v1/sources/<project>/<name>/messages")
@requires("sources-add-comments")
@doc(query={"id": fields.List(fields.String())})
def delete_comments(project, name):
    source = sources.get_by_name(db(), project, name)
    comments.delete(db(), source, request.args.getlist("id"))
    return ok()
