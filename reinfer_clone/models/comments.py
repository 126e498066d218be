from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigIntPK, UTCDateTime, utcnow


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
