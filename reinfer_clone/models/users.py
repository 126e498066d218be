from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, HexId, UTCDateTime, new_id, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(HexId(), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(256), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    verified: Mapped[bool] = mapped_column(Boolean, default=True)

    global_permission_rows: Mapped[list["GlobalPermission"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )
    project_permission_rows: Mapped[list["ProjectPermission"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )
    tokens: Mapped[list["ApiToken"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, back_populates="user"
    )

    @property
    def global_permissions(self) -> list[str]:
        return sorted(row.code for row in self.global_permission_rows)

    @property
    def organisation_permissions(self) -> dict[str, list[str]]:
        by_project: dict[str, list[str]] = {}
        for row in self.project_permission_rows:
            by_project.setdefault(row.project, []).append(row.code)
        return {project: sorted(codes) for project, codes in sorted(by_project.items())}


class GlobalPermission(Base):
    __tablename__ = "user_global_permissions"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(64), primary_key=True)


class ProjectPermission(Base):
    """A permission code on a project, keyed by the project's name as on the wire.

    Keyed by name (not id) so that permissions can be granted before the project
    exists, as `users create --project P` allows; project names never change.
    """

    __tablename__ = "user_project_permissions"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    project: Mapped[str] = mapped_column(String(256), primary_key=True, index=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)


class ApiToken(Base):
    """An API token, stored only as its SHA-256 digest."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(HexId(), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="tokens")

