"""ORM tables owned by engine.shared (migrations on the 'shared' Alembic branch).

- change_log: one row per change to shared state, written by database triggers in the same
  transaction as the change (so bulk Core statements are caught too); `seq` only grows.
- routing_leases: which workstation routes to a FIX session now, until when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, UTCDateTime, utcnow

SEQ = BigInteger().with_variant(Integer(), "sqlite")


class ChangeLog(Base):
    """One change to shared state: what kind, which ids (JSON text), who, when."""

    __tablename__ = "change_log"

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    type: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(32))
    ids: Mapped[str] = mapped_column(Text, doc="JSON object of the changed item's identifiers")
    state: Mapped[str | None] = mapped_column(String(32))
    who: Mapped[str | None] = mapped_column(String(64))


class RoutingLease(Base):
    """The lease on one FIX session: only its owner routes to it until expires_at."""

    __tablename__ = "routing_leases"

    session_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(160))
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
