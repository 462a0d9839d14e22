"""retention: retention_policies (a period per record kind, seeded with the documented defaults)
and audit_checkpoints (signed records of purged audit entries, read by `audit verify`).

Revision ID: 1601_retention
Revises: 0001_foundation
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "1601_retention"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("retention",)
depends_on: str | Sequence[str] | None = None

DEFAULTS = [
    ("orders", 84), ("executions", 84), ("order_events", 84), ("audit", 84), ("approval_cases", 84),
    ("compliance_checks", 84), ("proposals", 84), ("reconcile_statements", 84), ("reconcile_breaks", 84),
    ("ledger", 84), ("desk_feed", 12), ("fix_files", 84),
]  # fmt: skip


def upgrade() -> None:
    policies = op.create_table(
        "retention_policies",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_retention_policies")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        policies,
        [
            dict(kind=k, months=m, note="documented default", changed_by="migration", changed_at=now)
            for k, m in DEFAULTS
        ],
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("first_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("purged_total", sa.Integer(), nullable=False),
        sa.Column("first_prev_hash", sa.String(length=64), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("head_id", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("head_seq", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("retention_policies")
