"""The audit log (contract section 19.1): one row per change, never updated."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HexId, UTCDateTime, new_id, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # Keyset paging and time filters walk (timestamp, id).
    __table_args__ = (Index("ix_audit_events_timestamp_id", "timestamp", "id"),)

    id: Mapped[str] = mapped_column(HexId(), primary_key=True, default=new_id)
    event_type: Mapped[str] = mapped_column(String(64))
    actor_user_id: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    project_ids: Mapped[list] = mapped_column(JSON, default=list)
    dataset_ids: Mapped[list] = mapped_column(JSON, default=list)
    source_ids: Mapped[list] = mapped_column(JSON, default=list)
    user_ids: Mapped[list] = mapped_column(JSON, default=list)
    trigger_ids: Mapped[list] = mapped_column(JSON, default=list)
    # Names of everything referenced, as they were: a page must join every id
    # (the client fails otherwise) even after the object is deleted.
    # {"users": {id: {...}}, "projects": {id: {...}}, "datasets": {id: {...}}}
    refs: Mapped[dict] = mapped_column(JSON, default=dict)
