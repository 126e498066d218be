"""Lookups shared by the resources a project owns (sources, datasets, buckets):
addressed by `<project>/<name>` or by `id:<hex>`, listed in (project, name) order."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import Project
from .permissions import Principal


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
