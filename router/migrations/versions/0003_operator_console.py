"""operator console: who claimed a ticket and when, who wrote an operator message

Revision ID: operator_console
Revises: ab_variant
"""

import sqlalchemy as sa
from alembic import op

revision = "operator_console"
down_revision = "ab_variant"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("author")
    with op.batch_alter_table("handoff_tickets", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
