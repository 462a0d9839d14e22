"""oms: oms_fix_inbound, the last broker message applied per FIX session

Revision ID: 0402_oms_fix_inbound
Revises: 0401_oms
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "0402_oms_fix_inbound"
down_revision: str | Sequence[str] | None = "0401_oms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oms_fix_inbound",
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_oms_fix_inbound")),
    )


def downgrade() -> None:
    op.drop_table("oms_fix_inbound")
