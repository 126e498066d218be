"""Tenant quotas: `re get quotas`, `re create quota` (contract section 19.2)."""
from flask import Blueprint

from ..schemas.quotas import QuotaSchema, SetQuotaRequest
from ..services import quotas
from .spec import doc
from .support import db, load, ok, principal, requires_tenant_admin

bp = Blueprint("quotas", __name__, url_prefix="/api/_private/quotas")
READ = "Any valid token: limits and counts of the whole tenant, no names (docs/decisions.md)."


@bp.get("")
@doc(response={"quotas": [QuotaSchema]}, permission=READ)
def get_quotas():
    return ok(quotas=QuotaSchema(many=True).dump(quotas.usage(db())))


@bp.get("/<tenant_id>")
@doc(response={"quotas": [QuotaSchema]}, permission=READ)
def get_tenant_quotas(tenant_id):
    quotas.check_tenant(tenant_id)
    return ok(quotas=QuotaSchema(many=True).dump(quotas.usage(db())))


@bp.post("/<tenant_id>/<quota_kind>")
@requires_tenant_admin
@doc(body=SetQuotaRequest)
def set_quota(tenant_id, quota_kind):
    quotas.check_tenant(tenant_id)
    quotas.check_kind(quota_kind)
    body = load(SetQuotaRequest())
    quotas.set_limit(db(), quota_kind, body["hard_limit"], body["auto_increase_up_to"])
    return ok()
