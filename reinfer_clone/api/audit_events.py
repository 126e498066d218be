"""The audit log: `re get audit-events` (contract section 19.1)."""
from flask import Blueprint

from ..schemas.audit import (
    AuditDatasetSchema, AuditEventSchema, AuditProjectSchema, AuditQueryRequest, AuditTenantSchema,
    AuditUserSchema,
)
from ..schemas.fields import String
from ..services import audit
from .spec import doc
from .support import config, db, load, ok, requires_tenant_admin

bp = Blueprint("audit_events", __name__, url_prefix="/api/v1/audit_events")


@bp.post("/query")
@requires_tenant_admin
@doc(body=AuditQueryRequest, response={
    "audit_events": [AuditEventSchema], "projects": [AuditProjectSchema], "datasets": [AuditDatasetSchema],
    "tenants": [AuditTenantSchema], "users": [AuditUserSchema], "continuation": String(allow_none=True)})
def query_audit_events():
    body = load(AuditQueryRequest())
    window = (body["filter"] or {}).get("timestamp") or {}
    page = audit.query(db(), window.get("minimum"), window.get("maximum"), body["continuation"],
                       config().tenant_name, limit=body["limit"])
    return ok(
        audit_events=AuditEventSchema(many=True).dump(page["audit_events"]),
        projects=page["projects"], datasets=page["datasets"], tenants=page["tenants"], users=page["users"],
        continuation=page["continuation"],
    )
