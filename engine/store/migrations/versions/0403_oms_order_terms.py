"""oms: orders.stop_price (stop and stop-limit orders), orders.expire_at (good-till-date) and the broker strategy

Revision ID: 0403_oms_order_terms
Revises: 0402_oms_fix_inbound
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "0403_oms_order_terms"
down_revision: str | Sequence[str] | None = "0402_oms_fix_inbound"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("stop_price", sa.Numeric(precision=20, scale=6), nullable=True))
        batch.add_column(sa.Column("expire_at", engine.store.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("strategy", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("strategy_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("strategy_params")
        batch.drop_column("strategy")
        batch.drop_column("expire_at")
        batch.drop_column("stop_price")
