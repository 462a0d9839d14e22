"""oms: market marks for transaction cost analysis (arrival price, fill interval, end) and market prints

Revision ID: 0405_oms_tca
Revises: 0404_oms_allocations
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "0405_oms_tca"
down_revision: str | Sequence[str] | None = "0404_oms_allocations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PX = sa.Numeric(precision=20, scale=6)


def _time() -> engine.store.base.UTCDateTime:
    return engine.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oms_order_marks",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("arrival_at", _time(), nullable=False),
        sa.Column("arrival_px", PX, nullable=True),
        sa.Column("interval_from", _time(), nullable=True),
        sa.Column("interval_to", _time(), nullable=True),
        sa.Column("prints", sa.Integer(), nullable=True),
        sa.Column("end_at", _time(), nullable=True),
        sa.Column("end_px", PX, nullable=True),
        sa.Column("captured_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_oms_order_marks_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_oms_order_marks")),
    )
    op.create_index(op.f("ix_oms_order_marks_captured_at"), "oms_order_marks", ["captured_at"], unique=False)
    op.create_table(
        "market_prints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("security_id", sa.Integer(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("price", PX, nullable=False),
        sa.Column("quantity", PX, nullable=False),
        sa.ForeignKeyConstraint(
            ["security_id"], ["securities.id"], name=op.f("fk_market_prints_security_id_securities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_prints")),
        sa.UniqueConstraint(
            "source", "security_id", "at", name=op.f("uq_market_prints_source_security_id_at")
        ),
    )
    op.create_index("ix_market_prints_security_at", "market_prints", ["security_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_market_prints_security_at", table_name="market_prints")
    op.drop_table("market_prints")
    op.drop_index(op.f("ix_oms_order_marks_captured_at"), table_name="oms_order_marks")
    op.drop_table("oms_order_marks")
