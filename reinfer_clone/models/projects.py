from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ..db import Base, HexId, UTCDateTime, new_id, utcnow


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(HexId(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProjectOwned:
    """What sources, datasets and buckets share: a hex id, and a name unique
    within the project that owns them (they are addressed as `<project>/<name>`)."""

    id: Mapped[str] = mapped_column(HexId(), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    title: Mapped[str] = mapped_column(Text, default="")

    @declared_attr.directive
    def __table_args__(cls):
        return (UniqueConstraint("project_id", "name"),)

    @declared_attr
    def project(cls) -> Mapped[Project]:
        return relationship(Project, lazy="joined")

    @property
    def owner(self) -> str:
        return self.project.name
