"""Read and append model versions: a model's weights as plain data, and version n+1 on change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.portfolio_models.tables import ModelVersion
from engine.store.accounts import Model
from engine.store.reference import Security


def weights_of(session: Session, model: Model) -> list[dict[str, Any]]:
    """The model's components as sorted [{"symbol"|"sub_model": code, "weight": "0.25"}]."""
    symbols = dict(
        session.execute(
            select(Security.id, Security.symbol).where(
                Security.id.in_([c.security_id for c in model.components if c.security_id is not None])
            )
        ).all()
    )
    codes = dict(
        session.execute(
            select(Model.id, Model.code).where(
                Model.id.in_([c.sub_model_id for c in model.components if c.sub_model_id is not None])
            )
        ).all()
    )
    rows: list[dict[str, Any]] = []
    for c in model.components:
        w = weight_text(c.weight)
        if c.security_id is not None:
            rows.append({"symbol": symbols[c.security_id], "weight": w})
        elif c.sub_model_id is not None:
            rows.append({"sub_model": codes[c.sub_model_id], "weight": w})
    return sort_weights(rows)


def sort_weights(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Securities first, then sub-models, each by code: one canonical order to compare and store."""
    return sorted(rows, key=lambda r: ("symbol" not in r, r.get("symbol") or r.get("sub_model") or ""))


def weight_text(weight: Decimal) -> str:
    """A weight as a plain decimal string without trailing zeros ('0.25', '1')."""
    text = format(Decimal(weight).normalize(), "f")
    return text


def latest(session: Session, model_id: int) -> ModelVersion | None:
    """The model's newest version, or None if it has none yet."""
    q = select(ModelVersion).where(ModelVersion.model_id == model_id).order_by(ModelVersion.version.desc())
    return session.scalars(q.limit(1)).first()


def append(
    session: Session, model: Model, weights: list[dict[str, Any]], username: str, note: str = ""
) -> ModelVersion:
    """Append the next version of `model` with `weights` (the caller audits and validates)."""
    top = session.execute(
        select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)
    ).scalar_one()
    version = ModelVersion(
        model_id=model.id,
        model_code=model.code,
        version=(top or 0) + 1,
        weights=sort_weights(weights),
        created_by=username,
        note=note,
    )
    session.add(version)
    session.flush()
    return version


def history(session: Session, model_id: int) -> list[ModelVersion]:
    """Every version of the model, oldest first."""
    q = select(ModelVersion).where(ModelVersion.model_id == model_id).order_by(ModelVersion.version)
    return list(session.scalars(q))
