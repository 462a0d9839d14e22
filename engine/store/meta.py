"""Key/value facts about the book itself (how the demo book was built, its as-of date)."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base


class BookMeta(Base):
    __tablename__ = "book_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
