from __future__ import annotations

import json

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..models import Bucket, Dataset, Project, ProjectPermission, Source, User
from . import owned
from . import users as users_service
from .names import validate_name
from .permissions import PROJECT_CODES, Principal

# Resources a project owns, as named in the "force deletion" message.
CHILD_TABLES = {"buckets": Bucket, "datasets": Dataset, "sources": Source}


def list_visible(session: Session, principal: Principal) -> list[Project]:
    projects = session.scalars(select(Project).order_by(Project.name))
    return [p for p in projects if principal.sees_project(p.name)]


def get(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFound(f"Project '{name}' not found.")
    return project


def create(session: Session, name: str, user_ids, title: str = "", description: str = "") -> Project:
    validate_name("project", name)
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise Conflict(f"Project '{name}' already exists.")
    for user_id in user_ids:
        if session.get(User, user_id) is None:
            raise InvalidInput(f"user_ids: unknown user id '{user_id}'.", field="user_ids")
    now = utcnow()
    project = Project(name=name, title=title, description=description, created_at=now, updated_at=now)
    session.add(project)
    # Members get every project code at once: the client polls /auth/user for it.
    users_service.grant_project(session, user_ids, name, PROJECT_CODES)
    session.flush()
    return project


def update(session: Session, project: Project, **fields) -> Project:
    owned.apply_changes(project, fields)
    session.flush()
    return project


def child_counts(session: Session, project: Project) -> dict[str, int]:
    counts = {}
    for label, model in CHILD_TABLES.items():
        n = session.scalar(select(func.count()).where(model.project_id == project.id))
        if n:
            counts[label] = n
    return counts


def delete(session: Session, project: Project, force: bool) -> None:
    counts = child_counts(session, project)
    if counts and not force:
        raise Conflict(
            "Project contains child resources but force deletion was not requested: "
            + json.dumps(counts, sort_keys=True)
        )
    # Children go with the project through ON DELETE CASCADE.
    session.execute(sql_delete(ProjectPermission).where(ProjectPermission.project == project.name))
    session.delete(project)
    session.flush()
    session.expire_all()
