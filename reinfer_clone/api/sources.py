from flask import Blueprint

from ..schemas import responses as r
from ..schemas.sources import (
    NewSourceRequest,
    SourceSchema,
    SourceStatisticsRequest,
    SourceUpdateRequest,
)
from ..services import query, sources
from ..services.comment_filter import CommentFilter
from .spec import doc
from .support import config, db, load, ok, principal, requires

bp = Blueprint("sources", __name__, url_prefix="/api/v1/sources")
source_schema = SourceSchema()


@bp.get("")
@doc(response={"sources": [SourceSchema]},
     permission="Any valid token; lists sources of projects where the caller has `sources-read`.")
def list_sources():
    visible = sources.list_visible(db(), principal())
    return ok(sources=source_schema.dump(visible, many=True))


@bp.get("/<project>")
@requires("sources-read")
@doc(response={"sources": [SourceSchema]})
def list_project_sources(project):
    return ok(sources=source_schema.dump(sources.list_in_project(db(), project), many=True))


@bp.get("/id:<source_id>")
@doc(response={"source": SourceSchema}, permission="`sources-read` on the source's project.")
def get_source_by_id(source_id):
    source = sources.get_by_id(db(), source_id, principal(), "sources-read")
    return ok(source=source_schema.dump(source))


@bp.get("/<project>/<name>")
@requires("sources-read")
@doc(response={"source": SourceSchema})
def get_source(project, name):
    return ok(source=source_schema.dump(sources.get_by_name(db(), project, name)))


@bp.put("/<project>/<name>")
@requires("sources-admin")
@doc(body=NewSourceRequest, response={"source": SourceSchema})
def create_source(project, name):
    fields = load(NewSourceRequest())["source"]
    source = sources.create(db(), project, name, config().transform_tags, **fields)
    return ok(source=source_schema.dump(source))


@bp.post("/<project>/<name>")
@requires("sources-admin")
@doc(body=SourceUpdateRequest, response={"source": SourceSchema})
def update_source(project, name):
    changes = load(SourceUpdateRequest())["source"]
    source = sources.get_by_name(db(), project, name)
    source = sources.update(db(), source, config().transform_tags, **changes)
    return ok(source=source_schema.dump(source))


@bp.delete("/id:<source_id>")
@doc(permission="`sources-admin` on the source's project.")
def delete_source_by_id(source_id):
    source = sources.get_by_id(db(), source_id, principal(), "sources-admin")
    sources.delete(db(), source)
    return ok()


@bp.delete("/<project>/<name>")
@requires("sources-admin")
@doc()
def delete_source(project, name):
    sources.delete(db(), sources.get_by_name(db(), project, name))
    return ok()


@bp.post("/<project>/<name>/statistics")
@requires("sources-read")
@doc(body=SourceStatisticsRequest, response={"statistics": r.Obj(required=True)})
def source_statistics(project, name):
    body = load(SourceStatisticsRequest())
    source = sources.get_by_name(db(), project, name)
    comment_filter = CommentFilter.from_loaded(body["comment_filter"], field="comment_filter")
    return ok(statistics=query.source_statistics(db(), source, comment_filter))
