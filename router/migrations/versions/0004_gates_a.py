"""client sentiment on messages; daily VOC-risk scores per client

Revision ID: gates_a
Revises: operator_console
"""

import sqlalchemy as sa
from alembic import op

revision = "gates_a"
down_revision = "operator_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentiment", sa.Float(), nullable=True))
    op.create_table(
        "client_risk",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("scored_on", sa.Date(), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )


def downgrade() -> None:
    op.drop_table("client_risk")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("sentiment")
