"""oms: ClOrdID registry, block allocations, and order columns for holds, sends and pending requests

Revision ID: 0401_oms
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "0401_oms"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("oms",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oms_cl_ord_ids",
        sa.Column("cl_ord_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("orig_cl_ord_id", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("limit_price", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("created_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_oms_cl_ord_ids_order_id_orders")),
        sa.PrimaryKeyConstraint("cl_ord_id", name=op.f("pk_oms_cl_ord_ids")),
    )
    op.create_index(op.f("ix_oms_cl_ord_ids_order_id"), "oms_cl_ord_ids", ["order_id"], unique=False)
    op.create_table(
        "oms_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("block_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("avg_px", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("settle_date", sa.Date(), nullable=True),
        sa.Column("source_ref", sa.String(length=96), nullable=False),
        sa.Column("booked_at", engine.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_oms_allocations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["block_id"], ["orders.id"], name=op.f("fk_oms_allocations_block_id_orders")),
        sa.ForeignKeyConstraint(["child_id"], ["orders.id"], name=op.f("fk_oms_allocations_child_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oms_allocations")),
        sa.UniqueConstraint("source_ref", name=op.f("uq_oms_allocations_source_ref")),
    )
    op.create_index(op.f("ix_oms_allocations_account_id"), "oms_allocations", ["account_id"], unique=False)
    op.create_index(op.f("ix_oms_allocations_block_id"), "oms_allocations", ["block_id"], unique=False)
    op.create_index(op.f("ix_oms_allocations_child_id"), "oms_allocations", ["child_id"], unique=False)
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("prev_status", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("release_at", engine.store.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sent_at", engine.store.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("sent_at")
        batch.drop_column("release_at")
        batch.drop_column("prev_status")
    op.drop_index(op.f("ix_oms_allocations_child_id"), table_name="oms_allocations")
    op.drop_index(op.f("ix_oms_allocations_block_id"), table_name="oms_allocations")
    op.drop_index(op.f("ix_oms_allocations_account_id"), table_name="oms_allocations")
    op.drop_table("oms_allocations")
    op.drop_index(op.f("ix_oms_cl_ord_ids_order_id"), table_name="oms_cl_ord_ids")
    op.drop_table("oms_cl_ord_ids")
