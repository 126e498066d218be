from flask import Blueprint, Response, request
from marshmallow import fields

from ..errors import InvalidInput
from ..services import attachments, sources
from .spec import doc
from .support import db, ok, principal

bp = Blueprint("attachments", __name__)

COMMENT = "/api/_private/sources/id:<source_id>/comments/<path:comment_id>"


def _uploaded_file() -> bytes:
    # Reading the form enforces MAX_CONTENT_LENGTH (a JSON 413).
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("file: a multipart/form-data field 'file' is required.", field="file")
    return upload.read()


def _writable_source(source_id):
    source = sources.get_by_id(db(), source_id, principal(), "sources-add-comments")
    return source


@bp.put(f"{COMMENT}/attachments/<index>")
@doc(multipart="file", response={"content_hash": fields.String(required=True)},
     permission="`sources-add-comments` on the source's project.")
def upload_attachment(source_id, comment_id, index):
    source = _writable_source(source_id)
    content_hash = attachments.store(db(), source, comment_id, index, _uploaded_file())
    return ok(content_hash=content_hash)


@bp.put(f"{COMMENT}/audio")
@doc(multipart="file", permission="`sources-add-comments` on the source's project.")
def upload_audio(source_id, comment_id):
    source = _writable_source(source_id)
    attachments.receive_audio(source, comment_id, _uploaded_file())
    return ok()


@bp.get("/api/v1/attachments/<path:reference>")
@doc(media_type="application/octet-stream", permission="`sources-read` on the source's project.")
def download_attachment(reference):
    source_id, comment_id, index = attachments.parse_reference(reference)
    source = sources.get_by_id(db(), source_id, principal(), "sources-read")
    content = attachments.content(db(), source, comment_id, index)
    return Response(content, mimetype="application/octet-stream")
