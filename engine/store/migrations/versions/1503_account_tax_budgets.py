"""rebalance: account_tax_budgets, an account's annual tax budget (year-to-date gains included).

Revision ID: 1503_account_tax_budgets
Revises: 1502_transitions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "1503_account_tax_budgets"
down_revision: str | Sequence[str] | None = "1502_transitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_tax_budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tax_budget", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_tax_budgets_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tax_budgets")),
        sa.UniqueConstraint("account_id", name=op.f("uq_account_tax_budgets_account_id")),
    )


def downgrade() -> None:
    op.drop_table("account_tax_budgets")
