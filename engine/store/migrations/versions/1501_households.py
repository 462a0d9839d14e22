"""rebalance: household_groups, households whose accounts rebalance together in one problem.

Revision ID: 1501_households
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "1501_households"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("rebalance",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "household_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("target_model_id", sa.Integer(), nullable=True),
        sa.Column("reporting_currency", sa.String(length=3), nullable=False),
        sa.Column("tax_budget", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("carry_forward", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_household_groups_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["target_model_id"], ["models.id"], name=op.f("fk_household_groups_target_model_id_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_groups")),
        sa.UniqueConstraint("household_id", name=op.f("uq_household_groups_household_id")),
    )


def downgrade() -> None:
    op.drop_table("household_groups")
