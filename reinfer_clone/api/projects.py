from flask import Blueprint

from ..errors import Forbidden
from ..schemas.projects import NewProjectRequest, ProjectSchema, ProjectUpdateRequest
from ..services import projects
from .support import db, load, ok, principal, query_flag, requires_tenant_admin

bp = Blueprint("projects", __name__, url_prefix="/api/_private/projects")
project_schema = ProjectSchema()


@bp.get("")
def list_projects():
    visible = projects.list_visible(db(), principal())
    return ok(projects=project_schema.dump(visible, many=True))


@bp.get("/<project>")
def get_project(project):
    if not principal().sees_project(project):
        raise Forbidden(f"You have no permission on project '{project}'.")
    return ok(project=project_schema.dump(projects.get(db(), project)))


@bp.put("/<project>")
@requires_tenant_admin
def create_project(project):
    body = load(NewProjectRequest())
    created = projects.create(db(), project, body["user_ids"], **body["project"])
    return ok(project=project_schema.dump(created))


@bp.post("/<project>")
@requires_tenant_admin
def update_project(project):
    changes = load(ProjectUpdateRequest())["project"]
    updated = projects.update(db(), projects.get(db(), project), **changes)
    return ok(project=project_schema.dump(updated))


@bp.delete("/<project>")
@requires_tenant_admin
def delete_project(project):
    projects.delete(db(), projects.get(db(), project), force=query_flag("force"))
    return ok()
