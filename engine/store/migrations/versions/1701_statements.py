"""statements: client_statements (a row per client statement PDF written: period, file, SHA-256).

Revision ID: 1701_statements
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "1701_statements"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("statements",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("file", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("generated_by", sa.String(length=64), nullable=False),
        sa.Column("generated_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_client_statements_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_client_statements_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_statements")),
    )
    with op.batch_alter_table("client_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_statements_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_client_statements_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_client_statements_period_end"), ["period_end"], unique=False)


def downgrade() -> None:
    op.drop_table("client_statements")
