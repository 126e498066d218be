from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from .projects import ProjectOwned


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
