"""access: room for a sealed TOTP secret (`fernet1:` and a Fernet token, about 150 characters)

Secrets stored in clear before this revision are sealed with the OS keychain's key at the user's
next sign-in or by `workstation users mfa seal` (a migration cannot reach the keychain).

Revision ID: 0202_access_totp_sealed
Revises: 0201_access_mfa
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0202_access_totp_sealed"
down_revision: str | Sequence[str] | None = "0201_access_mfa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=True,
        )
