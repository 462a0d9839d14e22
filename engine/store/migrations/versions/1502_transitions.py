"""rebalance: transition_plans, transition_steps, proposal_exceptions (issue 15: transitions, exception queue).

Revision ID: 1502_transitions
Revises: 1501_households
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "1502_transitions"
down_revision: str | Sequence[str] | None = "1501_households"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transition_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("turnover", sa.Float(), nullable=False),
        sa.Column("tax_budget", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tolerance", sa.Float(), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("projection", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_transition_plans_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_transition_plans_model_id_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transition_plans")),
    )
    op.create_index(op.f("ix_transition_plans_account_id"), "transition_plans", ["account_id"], unique=False)
    op.create_index(op.f("ix_transition_plans_status"), "transition_plans", ["status"], unique=False)
    op.create_table(
        "proposal_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_proposal_exceptions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name=op.f("fk_proposal_exceptions_proposal_id_proposals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_exceptions")),
        sa.UniqueConstraint("proposal_id", "code", name=op.f("uq_proposal_exceptions_proposal_id_code")),
    )
    op.create_index(
        op.f("ix_proposal_exceptions_account_id"), "proposal_exceptions", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_proposal_exceptions_proposal_id"), "proposal_exceptions", ["proposal_id"], unique=False
    )
    op.create_index(op.f("ix_proposal_exceptions_status"), "proposal_exceptions", ["status"], unique=False)
    op.create_table(
        "transition_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.String(length=40), nullable=True),
        sa.Column("updated_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["transition_plans.id"], name=op.f("fk_transition_steps_plan_id_transition_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transition_steps")),
        sa.UniqueConstraint("plan_id", "step", name=op.f("uq_transition_steps_plan_id_step")),
    )
    op.create_index(op.f("ix_transition_steps_plan_id"), "transition_steps", ["plan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_transition_steps_plan_id"), table_name="transition_steps")
    op.drop_table("transition_steps")
    for ix in ("status", "proposal_id", "account_id"):
        op.drop_index(op.f(f"ix_proposal_exceptions_{ix}"), table_name="proposal_exceptions")
    op.drop_table("proposal_exceptions")
    op.drop_index(op.f("ix_transition_plans_status"), table_name="transition_plans")
    op.drop_index(op.f("ix_transition_plans_account_id"), table_name="transition_plans")
    op.drop_table("transition_plans")
