"""Lookups shared by the resources a project owns (sources, datasets, buckets):
addressed by `<project>/<name>` or by `id:<hex>`, listed in (project, name) order."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import Conflict, NotFound
from ..models import Project
from .names import validate_name
from .permissions import Principal


def project_for_new(session: Session, model, project_name: str, name: str) -> Project:
    """The project a new `model` row called `name` goes in: the name must be
    valid (400), the project exist (404) and the name be free in it (409)."""
    kind = model.__name__
    validate_name(kind.lower(), name)
    project = session.scalar(select(Project).where(Project.name == project_name))
    if project is None:
        raise NotFound(f"Project '{project_name}' not found.")
    if session.scalar(select(model.id).where(model.project_id == project.id, model.name == name)):
        raise Conflict(f"{kind} '{project_name}/{name}' already exists.")
    return project


def apply_changes(row, changes: dict) -> bool:
    """Set the attributes that differ and, when any did, bump `updated_at`."""
    changed = False
    for key, value in changes.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        row.updated_at = utcnow()
    return changed


def ordered(model):
    return select(model).join(Project).order_by(Project.name, model.name)


def list_visible(session: Session, model, principal: Principal, code: str) -> list:
    """Only what the caller may read: list routes never answer 403."""
    return [row for row in session.scalars(ordered(model)) if principal.has(code, row.owner)]


def list_in_project(session: Session, model, project: str) -> list:
    return list(session.scalars(ordered(model).where(Project.name == project)))


def get_by_name(session: Session, model, project: str, name: str, options=()):
    row = session.scalar(select(model).join(Project).where(Project.name == project, model.name == name)
                         .options(*options))
    if row is None:
        raise NotFound(f"{model.__name__} '{project}/{name}' not found.")
    return row


def get_by_id(session: Session, model, row_id: str, principal: Principal | None = None,
              code: str | None = None):
    """With a caller: it needs `code` on the owning project. A row of a project the
    caller has no code on answers like an unknown id, so ids cannot be probed."""
    row = session.get(model, row_id)
    if row is None or (principal is not None and not principal.sees_project(row.owner)):
        raise NotFound(f"{model.__name__} with id '{row_id}' not found.")
    if principal is not None:
        principal.require(code, row.owner)
    return row
