"""messages.reading, messages.reading_of: the intent encoder's embedding of a client message and the graph
that made it, so that later turns read the message as context without running the encoder again

Revision ID: message_reading
Revises: last_decision_kind
"""

import sqlalchemy as sa
from alembic import op

revision = "message_reading"
down_revision = "last_decision_kind"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reading", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reading_of", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("reading_of")
        batch_op.drop_column("reading")
