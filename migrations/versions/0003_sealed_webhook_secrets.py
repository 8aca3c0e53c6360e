"""Room for webhook secrets sealed with FABU_SECRET_KEYS (app.secretbox).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 02:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=100), type_=sa.String(length=300)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=300), type_=sa.String(length=100)
        )
