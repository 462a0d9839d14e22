"""models: a model's versions go with the model (a demo rebuild deletes every model).

Revision ID: 0702_model_versions_cascade
Revises: 0701_models
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0702_model_versions_cascade"
down_revision: str | Sequence[str] | None = "0701_models"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_model_versions_model_id_models"


def upgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.create_foreign_key(FK, "models", ["model_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.create_foreign_key(FK, "models", ["model_id"], ["id"])
