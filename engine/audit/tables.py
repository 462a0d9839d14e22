"""The audit package's own table: the chain head (entries live in audit_log, engine.store.people)."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base


class AuditHead(Base):
    """The one row holding the audit chain's last sequence number and hash.

    Appenders update it first, which serialises them (row lock on PostgreSQL, write lock on
    SQLite), so the chain never forks; verify also compares it with the last entry, so a
    deleted tail is detected.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_id: Mapped[int | None] = mapped_column(Integer)
    hash: Mapped[str | None] = mapped_column(String(64))
