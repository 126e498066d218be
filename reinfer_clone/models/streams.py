"""Streams: named cursors over a dataset's comments, the exceptions consumers
tag on comments, and the arrival order that the cursors move along (see
services/streams.py for why comments get an arrival number of their own)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HexId, UTCDateTime, new_id, utcnow
from .comments import Comment


class Stream(Base):
    __tablename__ = "streams"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[str] = mapped_column(HexId(), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # The CommentFilter as the caller gave it (validated before it is stored).
    comment_filter: Mapped[dict] = mapped_column(JSON, default=dict)
    # {"version": int, "label_thresholds": [{"name": [str], "threshold": float}]} or None.
    model: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # Arrival number of the last comment consumed (0: before every comment).
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StreamException(Base):
    """A consumer's note that it could not process a comment; kept for audit only."""

    __tablename__ = "stream_exceptions"

    stream_id: Mapped[str] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True)
    uid: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = mapped_column(String(1024), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StreamArrival(Base):
    """The position of a comment in the order every stream follows: numbers are
    handed out in commit order, so a cursor never passes a comment that is not
    yet visible."""

    __tablename__ = "stream_arrivals"
    __table_args__ = (
        # Fetch: a dataset's comments after a position, in order.
        Index("ix_stream_arrivals_source_seq", "source_id", "seq"),
        # Reset: a source's arrivals by upload time.
        Index("ix_stream_arrivals_source_created", "source_id", "created_at"),
    )

    comment_pk: Mapped[int] = mapped_column(ForeignKey("comments.pk", ondelete="CASCADE"), primary_key=True)
    # Copies of the comment's (immutable) columns, so that the indexes above can serve.
    source_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)


class StreamCounter(Base):
    """One row: the last arrival number handed out. A counter rather than
    max(seq), so that deleting the newest comment never lets a number be reused."""

    __tablename__ = "stream_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


# Arrival catch-up looks for the comments created since a point in time.
# Declared here, next to its only user; it belongs to the comments table.
Index("ix_comments_created_at", Comment.created_at)
