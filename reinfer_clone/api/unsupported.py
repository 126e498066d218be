"""Routes the official client knows but this server does not offer (contract §17):
answered with a JSON 404 that says so, after authentication like every route."""
from flask import Blueprint

from ..errors import NotFound
from .spec import doc

bp = Blueprint("unsupported", __name__)

ROUTES = (
    "/api/_private/buckets/<project>/<name>/emails",
    "/api/_private/buckets/<project>/<name>/statistics",
    "/api/_private/buckets/<project>/<name>/keyed-sync-state",
    "/api/_private/buckets/<project>/<name>/keyed-sync-states",
    "/api/_private/buckets/<project>/<name>/sync-raw-emails",
    "/api/_private/integrations",
    "/api/_private/integrations/<path:rest>",
    "/api/_private/ixp/datasets",
    "/api/_private/ixp/<path:rest>",
    "/api/_private/sources/id:<source_id>/documents",
    "/api/_private/sources/id:<source_id>/documents/<path:rest>",
)


@doc(unsupported=True)
def not_supported(**_kwargs):
    raise NotFound("Not supported by this server.")


for index, rule in enumerate(ROUTES):
    bp.add_url_rule(
        rule, f"unsupported_{index}", not_supported, methods=["GET", "PUT", "POST", "DELETE"]
    )
