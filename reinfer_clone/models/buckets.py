from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from .projects import ProjectOwned


class Bucket(ProjectOwned, Base):
    __tablename__ = "buckets"

    bucket_type: Mapped[str] = mapped_column(String(32), default="emails")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
