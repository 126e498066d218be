"""Streams (contract §12): metadata, and consuming them with fetch / advance / reset."""
from flask import Blueprint, request

from ..schemas.streams import (
    AdvanceRequest,
    CreateStreamRequest,
    ExceptionsRequest,
    FetchRequest,
    ResetRequest,
    ResultsQuery,
    UpdateStreamRequest,
    dump_stream,
)
from ..services import datasets, streams
from .support import db, load, ok, principal, readable_dataset, requires

bp = Blueprint("streams", __name__, url_prefix="/api/v1/datasets/<project>/<name>/streams")


def _dataset(project, name):
    return datasets.get_by_name(db(), project, name)



@bp.get("")
def list_streams(project, name):
    # Either code will do; the message names the streams one.
    if not principal().has("voc-readonly", project):
        principal().require("streams-read", project)
    return ok(streams=[dump_stream(s) for s in streams.list_streams(db(), _dataset(project, name))])


@bp.put("")
@requires("streams-write")
def create_stream(project, name):
    fields = load(CreateStreamRequest())["stream"]
    stream = streams.create(db(), _dataset(project, name), fields)
    return ok(stream=dump_stream(stream))


@bp.get("/<stream>")
@requires("streams-read")
def get_stream(project, name, stream):
    return ok(stream=dump_stream(streams.get(db(), _dataset(project, name), stream)))


@bp.post("/<stream>")
@requires("streams-write")
def update_stream(project, name, stream):
    fields = load(UpdateStreamRequest())["stream"]
    dataset = _dataset(project, name)
    updated = streams.update_stream(db(), dataset, streams.get(db(), dataset, stream), fields)
    return ok(stream=dump_stream(updated))


@bp.delete("/<stream>")
@requires("streams-write")
def delete_stream(project, name, stream):
    dataset = _dataset(project, name)
    streams.delete(db(), streams.get(db(), dataset, stream))
    return ok()


@bp.post("/<stream>/fetch")
@requires("streams-consume")
def fetch(project, name, stream):
    size = load(FetchRequest())["size"]
    dataset = readable_dataset(project, name)
    return ok(**streams.fetch(db(), dataset, streams.get(db(), dataset, stream), size))


@bp.get("/<stream>/results")
@requires("streams-consume")
def results(project, name, stream):
    query = load(ResultsQuery(), data=request.args.to_dict())
    dataset = readable_dataset(project, name)
    return ok(**streams.results(db(), dataset, streams.get(db(), dataset, stream),
                                query["max_results"], query["max_filtered"]))


@bp.post("/<stream>/advance")
@requires("streams-consume")
def advance(project, name, stream):
    sequence_id = load(AdvanceRequest())["sequence_id"]
    dataset = _dataset(project, name)
    streams.advance(db(), streams.get(db(), dataset, stream), sequence_id)
    return ok()


@bp.post("/<stream>/reset")
@requires("streams-consume")
def reset(project, name, stream):
    to = load(ResetRequest())["to_comment_created_at"]
    dataset = _dataset(project, name)
    streams.reset(db(), dataset, streams.get(db(), dataset, stream), to)
    return ok()


@bp.put("/<stream>/exceptions")
@requires("streams-consume")
def add_exceptions(project, name, stream):
    exceptions = load(ExceptionsRequest())["exceptions"]
    dataset = _dataset(project, name)
    streams.add_exceptions(db(), streams.get(db(), dataset, stream), exceptions)
    return ok()


@bp.delete("/<stream>/exceptions")
@requires("streams-consume")
def remove_exceptions(project, name, stream):
    dataset = _dataset(project, name)
    streams.remove_exceptions(db(), streams.get(db(), dataset, stream), request.args.getlist("uid"))
    return ok()
