"""corporate: corporate actions as data (announcement, record dates; merger, spin-off, delisting
terms; four-eyes entry and an audited status), on their own branch from the ledger's revision.

Actions applied before this revision are marked booked.

Revision ID: 1402_corporate_actions
Revises: 0101_ledger
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "1402_corporate_actions"
down_revision: str | Sequence[str] | None = "0101_ledger"
branch_labels: str | Sequence[str] | None = ("corporate",)
depends_on: str | Sequence[str] | None = None

PRICE = engine.store.base.Price
RATE = engine.store.base.Rate


def upgrade() -> None:
    with op.batch_alter_table("corporate_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announce_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("record_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("new_security_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("allocation", RATE(), nullable=True))
        batch_op.add_column(sa.Column("new_price", PRICE(), nullable=True))
        batch_op.add_column(sa.Column("lieu_price", PRICE(), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), server_default="announced", nullable=False)
        )
        batch_op.add_column(sa.Column("source", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("entered_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index(batch_op.f("ix_corporate_actions_status"), ["status"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_corporate_actions_new_security_id_securities"),
            "securities",
            ["new_security_id"],
            ["id"],
        )
    op.execute("UPDATE corporate_actions SET status = 'booked' WHERE applied_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("corporate_actions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_corporate_actions_new_security_id_securities"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_corporate_actions_status"))
        for col in ("version", "decision_reason", "decided_by", "entered_by", "source", "status",
                    "lieu_price", "new_price", "allocation", "new_security_id", "record_date",
                    "announce_date"):  # fmt: skip
            batch_op.drop_column(col)
