from __future__ import annotations

from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from ..models import Bucket, Source
from . import owned
from .permissions import Principal


def list_visible(session: Session, principal: Principal) -> list[Bucket]:
    return owned.list_visible(session, Bucket, principal, "sources-read")


def get_by_name(session: Session, project: str, name: str) -> Bucket:
    return owned.get_by_name(session, Bucket, project, name)


def get_by_id(session: Session, bucket_id: str, principal=None, code: str | None = None) -> Bucket:
    return owned.get_by_id(session, Bucket, bucket_id, principal, code)


def create(session: Session, project_name: str, name: str, title: str = "", bucket_type: str = "emails") -> Bucket:
    project = owned.project_for_new(session, Bucket, project_name, name)
    bucket = Bucket(project=project, name=name, title=title, bucket_type=bucket_type)
    session.add(bucket)
    session.flush()
    return bucket


def delete(session: Session, bucket: Bucket) -> None:
    # Explicit as well as ON DELETE SET NULL, so sources in this session see it too.
    session.execute(sql_update(Source).where(Source.bucket_id == bucket.id).values(bucket_id=None))
    session.delete(bucket)
    session.flush()
    session.expire_all()
