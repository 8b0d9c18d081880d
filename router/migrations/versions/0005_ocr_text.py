"""messages.ocr_text: the text read from an uploaded screenshot

Revision ID: ocr_text
Revises: gates_a
"""

import sqlalchemy as sa
from alembic import op

revision = "ocr_text"
down_revision = "gates_a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ocr_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("ocr_text")
