"""ORM tables owned by engine.retention (migrations on the 'retention' Alembic branch).

The policy is data: one row per record kind, changed only by an admin and audited, so a firm
sets its regulator's periods without a release. Kinds without a row keep the documented default.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, UTCDateTime, utcnow


class RetentionPolicy(Base):
    """How many months records of one kind are kept after their last change (engine.retention.kinds)."""

    __tablename__ = "retention_policies"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    months: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(64), default="migration")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
