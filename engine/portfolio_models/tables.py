"""ORM table owned by engine.portfolio_models (migrations on the 'models' Alembic branch).

`model_versions` keeps every model's weights as of each change, appended and never edited:
version n+1 is written whenever a model's components change (service or import).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, UTCDateTime, utcnow


class ModelVersion(Base):
    """One version of a model: its weights (symbol or sub-model -> weight string), who, when, note."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    model_code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    weights: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, doc='[{"symbol"|"sub_model": code, "weight": "0.25"}], sorted'
    )
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
