from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from ..db import Base, BigIntPK, UTCDateTime, utcnow


class AttachmentFile(Base):
    """Bytes of one attachment of a comment. Keyed by the comment's external id,
    not its row, because the client uploads attachments before the comment."""

    __tablename__ = "attachment_files"
    __table_args__ = (UniqueConstraint("source_id", "comment_id", "index"),)

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    comment_id: Mapped[str] = mapped_column(String(1024))
    index: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
