from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, BigIntPK, UTCDateTime, utcnow
from .projects import ProjectOwned

DEFAULT_GROUP = "default"


class Dataset(ProjectOwned, Base):
    __tablename__ = "datasets"

    description: Mapped[str] = mapped_column(Text, default="")
    model_family: Mapped[str] = mapped_column(String(64), default="english")
    has_sentiment: Mapped[bool] = mapped_column(Boolean, default=True)
    # Entity defs and general fields are only ever read and written as part of
    # the dataset object (no route addresses one), so they live on the row.
    entity_defs: Mapped[list] = mapped_column(JSON, default=list)
    general_fields: Mapped[list] = mapped_column(JSON, default=list)
    dataset_flags: Mapped[list] = mapped_column(JSON, default=list)
    model_config: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source_links: Mapped[list[DatasetSource]] = relationship(
        order_by="DatasetSource.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )
    label_groups: Mapped[list[LabelGroup]] = relationship(
        order_by="LabelGroup.pk",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )
    labelf_model: Mapped[LabelfModel] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="joined"
    )

    @property
    def source_ids(self) -> list[str]:
        return [link.source_id for link in self.source_links]

    @property
    def labelf_model_id(self) -> int:
        return self.labelf_model.id

    def group(self, name: str) -> LabelGroup | None:
        return next((g for g in self.label_groups if g.name == name), None)

    @property
    def label_defs(self) -> list[LabelDef]:
        """The `default` group's defs: what the dataset object calls `label_defs`."""
        default = self.group(DEFAULT_GROUP)
        return list(default.label_defs) if default else []


class DatasetSource(Base):
    """A source in a dataset. Deleting the source drops the row (ON DELETE CASCADE)."""

    __tablename__ = "dataset_sources"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[str] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # The client compares source_ids as a list: keep the order it was given in.
    position: Mapped[int] = mapped_column(Integer)


class LabelfModel(Base):
    """The integer model id that `/v2/models/<id>/inference` serves, one per dataset.

    A table of its own because SQLite only auto-increments an INTEGER PRIMARY KEY,
    and AUTOINCREMENT (a sequence on PostgreSQL) never hands a deleted dataset's
    number to a new one: a client holding model 42 must not silently get another
    dataset's predictions.
    """

    __tablename__ = "labelf_models"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), unique=True
    )


class LabelGroup(Base):
    __tablename__ = "label_groups"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    # Integer keys give insertion order, which is the order defs are shown in.
    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))

    label_defs: Mapped[list[LabelDef]] = relationship(
        order_by="LabelDef.pk",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class LabelDef(Base):
    """A label of a group; `name` is the full path, e.g. `Billing > Refund`."""

    __tablename__ = "label_defs"
    __table_args__ = (UniqueConstraint("group_pk", "name"),)

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    group_pk: Mapped[int] = mapped_column(ForeignKey("label_groups.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1024))
    title: Mapped[str] = mapped_column(Text, default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    pretrained: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    moon_form: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # Not part of the wire object; kept for training, which may skip such labels.
    trainable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
