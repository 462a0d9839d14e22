"""activity: end-to-end ids and reversals of activity lines (a line is reversed once)

Revision ID: 1404_activity_reversals
Revises: 1401_activity
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1404_activity_reversals"
down_revision: str | Sequence[str] | None = "1401_activity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("activity_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_to_end", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reverses", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_activity_lines_end_to_end"), ["end_to_end"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_activity_lines_custodian_reverses"), ["custodian", "reverses"]
        )


def downgrade() -> None:
    with op.batch_alter_table("activity_lines", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_activity_lines_custodian_reverses"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_activity_lines_end_to_end"))
        batch_op.drop_column("reverses")
        batch_op.drop_column("end_to_end")
