"""Streams (contract §12): metadata, and consuming them with fetch / advance / reset."""
from flask import Blueprint, request
from marshmallow import fields

from ..schemas import responses as r
from ..schemas.streams import (
    AdvanceRequest,
    CreateStreamRequest,
    ExceptionsRequest,
    FetchRequest,
    ResetRequest,
    ResultsQuery,
    StreamSchema,
    UpdateStreamRequest,
    dump_stream,
)
from ..services import datasets, streams
from .spec import doc
from .support import db, load, ok, principal, readable_dataset, requires

bp = Blueprint("streams", __name__, url_prefix="/api/v1/datasets/<project>/<name>/streams")


# What fetch and results answer (besides "status").
STREAM_PAGE = {"results": [r.StreamResultSchema], "filtered": fields.Integer(required=True),
               "sequence_id": fields.String(required=True), "is_end_sequence": fields.Boolean(required=True)}


def _dataset(project, name):
    return datasets.get_by_name(db(), project, name)


def _stream(project, name, stream, readable=False):
    """(dataset, stream); `readable`: the answer carries comments, so their sources
    must be readable too."""
    dataset = readable_dataset(project, name) if readable else _dataset(project, name)
    return dataset, streams.get(db(), dataset, stream)


@bp.get("")
@doc(response={"streams": [StreamSchema]},
     permission="`voc-readonly` or `streams-read` on the project named in the path.")
def list_streams(project, name):
    principal().require_any(("voc-readonly", "streams-read"), project)
    return ok(streams=[dump_stream(s) for s in streams.list_streams(db(), _dataset(project, name))])


@bp.put("")
@requires("streams-write")
@doc(body=CreateStreamRequest, response={"stream": StreamSchema})
def create_stream(project, name):
    fields = load(CreateStreamRequest())["stream"]
    stream = streams.create(db(), _dataset(project, name), fields)
    return ok(stream=dump_stream(stream))


@bp.get("/<stream>")
@requires("streams-read")
@doc(response={"stream": StreamSchema})
def get_stream(project, name, stream):
    return ok(stream=dump_stream(_stream(project, name, stream)[1]))


@bp.post("/<stream>")
@requires("streams-write")
@doc(body=UpdateStreamRequest, response={"stream": StreamSchema})
def update_stream(project, name, stream):
    fields = load(UpdateStreamRequest())["stream"]
    dataset, found = _stream(project, name, stream)
    updated = streams.update_stream(db(), dataset, found, fields)
    return ok(stream=dump_stream(updated))


@bp.delete("/<stream>")
@requires("streams-write")
@doc()
def delete_stream(project, name, stream):
    streams.delete(db(), _stream(project, name, stream)[1])
    return ok()


@bp.post("/<stream>/fetch")
@requires("streams-consume")
@doc(body=FetchRequest, response=STREAM_PAGE)
def fetch(project, name, stream):
    size = load(FetchRequest())["size"]
    return ok(**streams.fetch(db(), *_stream(project, name, stream, readable=True), size))


@bp.get("/<stream>/results")
@requires("streams-consume")
@doc(query=ResultsQuery, response=STREAM_PAGE)
def results(project, name, stream):
    query = load(ResultsQuery(), data=request.args.to_dict())
    return ok(**streams.results(db(), *_stream(project, name, stream, readable=True),
                                query["max_results"], query["max_filtered"]))


@bp.post("/<stream>/advance")
@requires("streams-consume")
@doc(body=AdvanceRequest)
def advance(project, name, stream):
    sequence_id = load(AdvanceRequest())["sequence_id"]
    streams.advance(db(), _stream(project, name, stream)[1], sequence_id)
    return ok()


@bp.post("/<stream>/reset")
@requires("streams-consume")
@doc(body=ResetRequest)
def reset(project, name, stream):
    to = load(ResetRequest())["to_comment_created_at"]
    streams.reset(db(), *_stream(project, name, stream), to)
    return ok()


@bp.put("/<stream>/exceptions")
@requires("streams-consume")
@doc(body=ExceptionsRequest)
def add_exceptions(project, name, stream):
    exceptions = load(ExceptionsRequest())["exceptions"]
    streams.add_exceptions(db(), _stream(project, name, stream)[1], exceptions)
    return ok()


@bp.delete("/<stream>/exceptions")
@requires("streams-consume")
@doc(query={"uid": fields.List(fields.String())})
def remove_exceptions(project, name, stream):
    streams.remove_exceptions(db(), _stream(project, name, stream)[1], request.args.getlist("uid"))
    return ok()
