"""ORM tables owned by engine.statements (migrations on the 'statements' Alembic branch).

One `client_statements` row per PDF a run wrote: which account or household, which quarter, the
file's name, size, pages and SHA-256, who generated it and when. What was sent to a client can be
shown later (and the file checked against its hash); the retention kind `statements` keeps the
rows seven years from the end of the quarter they report (engine.retention.kinds).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, UTCDateTime, utcnow


class StatementRecord(Base):
    """A statement written: an account's (account_id) or a household's (household_id)."""

    __tablename__ = "client_statements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(8), doc="the quarter, e.g. 2026Q3")
    period_end: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="account or household")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    file: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    generated_by: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
