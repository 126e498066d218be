from flask import Blueprint

from ..schemas.buckets import BucketSchema, NewBucketRequest
from ..services import buckets
from .spec import doc
from .support import db, load, ok, principal, requires

bp = Blueprint("buckets", __name__, url_prefix="/api/_private/buckets")
bucket_schema = BucketSchema()


@bp.get("")
@doc(response={"buckets": [BucketSchema]},
     permission="Any valid token; lists buckets of projects where the caller has `sources-read`.")
def list_buckets():
    visible = buckets.list_visible(db(), principal())
    return ok(buckets=bucket_schema.dump(visible, many=True))


@bp.get("/id:<bucket_id>")
@doc(response={"bucket": BucketSchema}, permission="`sources-read` on the bucket's project.")
def get_bucket_by_id(bucket_id):
    bucket = buckets.get_by_id(db(), bucket_id, principal(), "sources-read")
    return ok(bucket=bucket_schema.dump(bucket))


@bp.get("/<project>/<name>")
@requires("sources-read")
@doc(response={"bucket": BucketSchema})
def get_bucket(project, name):
    return ok(bucket=bucket_schema.dump(buckets.get_by_name(db(), project, name)))


@bp.put("/<project>/<name>")
@requires("sources-admin")
@doc(body=NewBucketRequest, response={"bucket": BucketSchema})
def create_bucket(project, name):
    fields = load(NewBucketRequest())["bucket"]
    bucket = buckets.create(db(), project, name, **fields)
    return ok(bucket=bucket_schema.dump(bucket))


@bp.delete("/id:<bucket_id>")
@doc(permission="`sources-admin` on the bucket's project.")
def delete_bucket_by_id(bucket_id):
    bucket = buckets.get_by_id(db(), bucket_id, principal(), "sources-admin")
    buckets.delete(db(), bucket)
    return ok()
