from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import NotFound, Unprocessable
from ..models import Bucket, Comment, Project, Source
from . import owned
from .permissions import Principal

DEFAULTS = {
    "title": "",
    "description": "",
    "language": "en",
    "should_translate": False,
    "kind": "unknown",
    "email_transform_tag": None,
    "sensitive_properties": [],
    "bucket_id": None,
}



def list_visible(session: Session, principal: Principal) -> list[Source]:
    return owned.list_visible(session, Source, principal, "sources-read")


def list_in_project(session: Session, project: str) -> list[Source]:
    return owned.list_in_project(session, Source, project)


def get_by_name(session: Session, project: str, name: str) -> Source:
    return owned.get_by_name(session, Source, project, name)


def get_by_id(session: Session, source_id: str, principal=None, code: str | None = None) -> Source:
    return owned.get_by_id(session, Source, source_id, principal, code)


def _check_fields(session: Session, fields: dict, allowed_tags) -> None:
    tag = fields.get("email_transform_tag")
    if tag is not None and tag not in allowed_tags:
        raise Unprocessable(f"The value '{tag}' is not a valid transform tag.")
    bucket_id = fields.get("bucket_id")
    if bucket_id is not None and session.get(Bucket, bucket_id) is None:
        raise NotFound(f"Bucket with id '{bucket_id}' not found.")


def create(session: Session, project_name: str, name: str, allowed_tags, **fields) -> Source:
    project = owned.project_for_new(session, Source, project_name, name)
    _check_fields(session, fields, allowed_tags)
    values = {**DEFAULTS, **fields}
    now = utcnow()
    source = Source(project=project, name=name, created_at=now, updated_at=now, **values)
    session.add(source)
    session.flush()
    return source


def update(session: Session, source: Source, allowed_tags, **fields) -> Source:
    _check_fields(session, fields, allowed_tags)
    owned.apply_changes(source, fields)
    session.flush()
    return source


def delete(session: Session, source: Source) -> None:
    # Comments (and, through them, annotations) go by ON DELETE CASCADE.
    session.delete(source)
    session.flush()


def count_comments(session: Session, source: Source, minimum=None, maximum=None) -> int:
    query = select(func.count()).select_from(Comment).where(Comment.source_id == source.id)
    if minimum is not None:
        query = query.where(Comment.timestamp >= minimum)
    if maximum is not None:
        query = query.where(Comment.timestamp <= maximum)
    return session.scalar(query)


def owners(session: Session, source_ids) -> set[str]:
    """Project names owning these sources."""
    return set(session.scalars(
        select(Project.name).join(Source, Source.project_id == Project.id).where(Source.id.in_(list(source_ids)))
    ))
