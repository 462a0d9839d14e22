"""models: model_versions, every model's weights as of each change; seeds version 1 of each
model already in the book (its current weights, by 'migration').

Revision ID: 0701_models
Revises: 0001_foundation
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "0701_models"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("models",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    versions = op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("model_code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name=op.f("fk_model_versions_model_id_models")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("model_id", "version", name=op.f("uq_model_versions_model_id_version")),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_model_id"), ["model_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_model_versions_created_at"), ["created_at"], unique=False)
    _seed_baselines(versions)


def _seed_baselines(versions: sa.Table) -> None:
    """Version 1 of every existing model: its components as they stand (frozen SQL, no ORM)."""
    conn = op.get_bind()
    models: dict[int, str] = {r[0]: r[1] for r in conn.execute(sa.text("SELECT id, code FROM models"))}
    if not models:
        return
    symbols: dict[int, str] = {r[0]: r[1] for r in conn.execute(sa.text("SELECT id, symbol FROM securities"))}
    weights: dict[int, list[dict[str, str]]] = {mid: [] for mid in models}
    rows = conn.execute(sa.text("SELECT model_id, security_id, sub_model_id, weight FROM model_components"))
    for model_id, security_id, sub_model_id, weight in rows:
        if security_id is not None:
            weights[model_id].append({"symbol": symbols[security_id], "weight": _text(weight)})
        else:
            weights[model_id].append({"sub_model": models[sub_model_id], "weight": _text(weight)})
    now = datetime.now(UTC)
    op.bulk_insert(
        versions,
        [
            {
                "model_id": mid,
                "model_code": code,
                "version": 1,
                "weights": sorted(
                    weights[mid],
                    key=lambda w: ("symbol" not in w, w.get("symbol") or w.get("sub_model") or ""),
                ),
                "created_by": "migration",
                "created_at": now,
                "note": "baseline: weights when versions began",
            }
            for mid, code in models.items()
        ],
    )


def _text(weight: object) -> str:
    """A weight as a plain decimal string without trailing zeros, as the service writes it."""
    return format(Decimal(str(weight)).normalize(), "f")


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_created_at"))
        batch_op.drop_index(batch_op.f("ix_model_versions_model_id"))
    op.drop_table("model_versions")
