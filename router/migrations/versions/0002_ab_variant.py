"""decisions.variant: the A/B experiment variant that decided

Revision ID: ab_variant
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "ab_variant"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("variant", sa.String(length=32), nullable=True))
        batch.create_index("ix_decisions_variant", ["variant"])


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_index("ix_decisions_variant")
        batch.drop_column("variant")
