"""pricing: stale_policies, how old a price (per asset class) or an FX fixing may be; seeded with
the documented defaults (docs/reports.md, Stale prices and FX).

Revision ID: 1101_pricing
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1101_pricing"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("pricing",)
depends_on: str | Sequence[str] | None = None

DEFAULTS = [
    ("equity", "sessions", 0, "the close of the market's last session"),
    ("etf", "sessions", 0, "the close of the market's last session"),
    ("adr", "sessions", 0, "the close of the market's last session"),
    ("fixed_income", "sessions", 2, "bonds trade thinly: up to 2 sessions of the market's calendar"),
    ("fx", "days", 5, "ECB fixings: up to 5 calendar days (a long weekend such as Easter)"),
]


def upgrade() -> None:
    table = op.create_table(
        "stale_policies",
        sa.Column("asset_class", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("allowed", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("asset_class", name=op.f("pk_stale_policies")),
    )
    op.bulk_insert(table, [dict(asset_class=a, rule=r, allowed=n, note=t) for a, r, n, t in DEFAULTS])


def downgrade() -> None:
    op.drop_table("stale_policies")
