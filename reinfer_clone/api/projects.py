from flask import Blueprint

from ..errors import Forbidden
from ..schemas.fields import StrictBooleanFromString
from ..schemas.projects import NewProjectRequest, ProjectSchema, ProjectUpdateRequest
from ..services import projects
from .spec import doc
from .support import db, load, ok, principal, query_flag, requires_tenant_admin

bp = Blueprint("projects", __name__, url_prefix="/api/_private/projects")
project_schema = ProjectSchema()


@bp.get("")
@doc(response={"projects": [ProjectSchema]},
     permission="Any valid token; lists the projects the caller has a code on.")
def list_projects():
    visible = projects.list_visible(db(), principal())
    return ok(projects=project_schema.dump(visible, many=True))


@bp.get("/<project>")
@doc(response={"project": ProjectSchema}, permission="Any code on the project.")
def get_project(project):
    if not principal().sees_project(project):
        raise Forbidden(f"You have no permission on project '{project}'.")
    return ok(project=project_schema.dump(projects.get(db(), project)))


@bp.put("/<project>")
@requires_tenant_admin
@doc(body=NewProjectRequest, response={"project": ProjectSchema})
def create_project(project):
    body = load(NewProjectRequest())
    created = projects.create(db(), project, body["user_ids"], **body["project"])
    return ok(project=project_schema.dump(created))


@bp.post("/<project>")
@requires_tenant_admin
@doc(body=ProjectUpdateRequest, response={"project": ProjectSchema})
def update_project(project):
    changes = load(ProjectUpdateRequest())["project"]
    updated = projects.update(db(), projects.get(db(), project), **changes)
    return ok(project=project_schema.dump(updated))


@bp.delete("/<project>")
@requires_tenant_admin
@doc(query={"force": StrictBooleanFromString()})
def delete_project(project):
    projects.delete(db(), projects.get(db(), project), force=query_flag("force"))
    return ok()
