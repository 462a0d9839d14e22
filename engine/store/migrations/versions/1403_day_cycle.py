"""daycycle: day_runs, day_steps, inbox_files, account_daily_values (the day cycle, docs/daycycle.md)

Revision ID: 1403_day_cycle
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "1403_day_cycle"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("daycycle",)
depends_on: str | Sequence[str] | None = None

UTC = engine.store.base.UTCDateTime(timezone=True)


def _amount(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Numeric(precision=20, scale=4), nullable=False)


def upgrade() -> None:
    op.create_table(
        "day_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_runs")),
        sa.UniqueConstraint("day", name=op.f("uq_day_runs_day")),
    )
    op.create_table(
        "day_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("exceptions", sa.JSON(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["day_runs.id"], name=op.f("fk_day_steps_run_id_day_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_steps")),
        sa.UniqueConstraint("day", "step", name=op.f("uq_day_steps_day_step")),
    )
    with op.batch_alter_table("day_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_day_steps_run_id"), ["run_id"], unique=False)
    op.create_table(
        "inbox_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=260), nullable=False),
        sa.Column("folder", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_inbox_files_sha256")),
    )
    with op.batch_alter_table("inbox_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_files_day"), ["day"], unique=False)
    op.create_table(
        "account_daily_values",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        _amount("market_value"),
        _amount("cash"),
        _amount("value"),
        _amount("flows"),
        _amount("cash_flows"),
        _amount("transfers"),
        _amount("income"),
        _amount("fees"),
        sa.Column("stale", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_daily_values_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_account_daily_values")),
    )
    with op.batch_alter_table("account_daily_values", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_daily_values_day"), ["day"], unique=False)


def downgrade() -> None:
    op.drop_table("account_daily_values")
    op.drop_table("inbox_files")
    op.drop_table("day_steps")
    op.drop_table("day_runs")
