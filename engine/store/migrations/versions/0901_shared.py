"""shared: change_log (with triggers on tracked tables) and routing_leases

Revision ID: 0901_shared
Revises: 0301_compliance (its triggers sit on compliance tables too)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base
from engine.shared.triggers import drop_triggers, ensure_triggers

revision: str = "0901_shared"
down_revision: str | Sequence[str] | None = "0301_compliance"
branch_labels: str | Sequence[str] | None = ("shared",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("ids", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=True),
        sa.Column("who", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_log")),
    )
    op.create_table(
        "routing_leases",
        sa.Column("session_key", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=160), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_key", name=op.f("pk_routing_leases")),
    )
    ensure_triggers(op.get_bind())


def downgrade() -> None:
    drop_triggers(op.get_bind())
    op.drop_table("routing_leases")
    op.drop_table("change_log")
