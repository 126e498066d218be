"""Tenant quotas (contract section 19.2): one row per kind an admin has set."""
from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class Quota(Base):
    __tablename__ = "quotas"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(BigInteger)
    auto_increase_up_to: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
