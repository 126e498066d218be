from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from .projects import ProjectOwned

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
BigIntPK = BigInteger().with_variant(Integer, "sqlite")


class Bucket(ProjectOwned, Base):
    __tablename__ = "buckets"

    bucket_type: Mapped[str] = mapped_column(String(32), default="emails")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Source(ProjectOwned, Base):
    __tablename__ = "sources"

    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(32), default="en")
    should_translate: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(64), default="unknown")
    email_transform_tag: Mapped[str | None] = mapped_column(String(128), nullable=True)
    sensitive_properties: Mapped[list] = mapped_column(JSON, default=list)
    bucket_id: Mapped[str | None] = mapped_column(
        ForeignKey("buckets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Comment(Base):
    """A message thread of a source. Messages and properties are kept verbatim."""

    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        # Keyset iteration in (timestamp, id) order within a source.
        Index("ix_comments_source_timestamp", "source_id", "timestamp", "external_id"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(1024))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    thread_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    messages: Mapped[list] = mapped_column(JSON, default=list)
    user_properties: Mapped[dict] = mapped_column(JSON, default=dict)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    # SHA-256 of the canonical upload, to tell "unchanged" from "updated" cheaply.
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
