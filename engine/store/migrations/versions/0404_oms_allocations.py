"""oms: FIX allocation instructions (35=J) with the broker's answers, and the broker rotation with its fairness log

Revision ID: 0404_oms_allocations
Revises: 0403_oms_order_terms
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "0404_oms_allocations"
down_revision: str | Sequence[str] | None = "0403_oms_order_terms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QTY = sa.Numeric(precision=20, scale=6)


def _time() -> engine.store.base.UTCDateTime:
    return engine.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oms_alloc_instructions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alloc_id", sa.String(length=64), nullable=False),
        sa.Column("block_id", sa.Integer(), nullable=False),
        sa.Column("broker", sa.String(length=64), nullable=False),
        sa.Column("trans_type", sa.String(length=8), nullable=False),
        sa.Column("ref_alloc_id", sa.String(length=64), nullable=True),
        sa.Column("alloc_type", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("security_id", sa.Integer(), nullable=False),
        sa.Column("quantity", QTY, nullable=False),
        sa.Column("avg_px", QTY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("settle_date", sa.Date(), nullable=True),
        sa.Column("cl_ord_ids", sa.JSON(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("reject_code", sa.Integer(), nullable=True),
        sa.Column("reject_text", sa.Text(), nullable=True),
        sa.Column("report_id", sa.String(length=64), nullable=True),
        sa.Column("sent_at", _time(), nullable=True),
        sa.Column("answered_at", _time(), nullable=True),
        sa.Column("alerted_at", _time(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["block_id"], ["orders.id"], name=op.f("fk_oms_alloc_instructions_block_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["security_id"], ["securities.id"], name=op.f("fk_oms_alloc_instructions_security_id_securities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oms_alloc_instructions")),
        sa.UniqueConstraint("alloc_id", name=op.f("uq_oms_alloc_instructions_alloc_id")),
    )
    for col in ("block_id", "broker", "status"):
        op.create_index(
            op.f(f"ix_oms_alloc_instructions_{col}"), "oms_alloc_instructions", [col], unique=False
        )
    op.create_table(
        "oms_rotations",
        sa.Column("security_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("last_first", sa.String(length=64), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["security_id"], ["securities.id"], name=op.f("fk_oms_rotations_security_id_securities")
        ),
        sa.PrimaryKeyConstraint("security_id", "side", name=op.f("pk_oms_rotations")),
    )
    op.create_table(
        "oms_rotation_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("security_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("broker", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("quantity", QTY, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_oms_rotation_log_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["security_id"], ["securities.id"], name=op.f("fk_oms_rotation_log_security_id_securities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oms_rotation_log")),
    )
    op.create_index(op.f("ix_oms_rotation_log_run_id"), "oms_rotation_log", ["run_id"], unique=False)
    op.create_index(
        op.f("ix_oms_rotation_log_security_id"), "oms_rotation_log", ["security_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_oms_rotation_log_security_id"), table_name="oms_rotation_log")
    op.drop_index(op.f("ix_oms_rotation_log_run_id"), table_name="oms_rotation_log")
    op.drop_table("oms_rotation_log")
    op.drop_table("oms_rotations")
    for col in ("status", "broker", "block_id"):
        op.drop_index(op.f(f"ix_oms_alloc_instructions_{col}"), table_name="oms_alloc_instructions")
    op.drop_table("oms_alloc_instructions")
