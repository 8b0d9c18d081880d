"""Indexes on decisions.reply_message_id and feedback.message_id: deleting a message (retention, erasure)
checks both foreign keys, a full scan of each table per message without them

Revision ID: foreign_key_indexes
Revises: ocr_text
"""

from alembic import op

revision = "foreign_key_indexes"
down_revision = "ocr_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_decisions_reply_message_id", "decisions", ["reply_message_id"])
    op.create_index("ix_feedback_message_id", "feedback", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_feedback_message_id", table_name="feedback")
    op.drop_index("ix_decisions_reply_message_id", table_name="decisions")
