from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigIntPK, UTCDateTime, utcnow


class Labelling(Base):
    """What a dataset's reviewers said about one comment: the labelling of each
    label group, entities and forms, kept as the JSON the contract exchanges."""

    __tablename__ = "annotations"  # its first name: a rename would need a migration for no gain
    __table_args__ = (
        UniqueConstraint("dataset_id", "comment_pk"),
        # Bulk reads page through a dataset's reviewed comments of one source.
        Index("ix_annotations_dataset_source", "dataset_id", "source_id", "pk"),
        Index("ix_annotations_comment", "comment_pk"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    comment_pk: Mapped[int] = mapped_column(ForeignKey("comments.pk", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    # [{"group": str, "assigned": [Label], "dismissed": [Label]}], in group order.
    labelling: Mapped[list] = mapped_column(JSON, default=list)
    entities: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    moon_forms: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # True when anything is assigned or dismissed: "reviewed" in the contract's terms.
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Who wrote the labelling last (a user id; null for rows written before this
    # was recorded). Not a foreign key: deleting a user keeps the attribution.
    updated_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
