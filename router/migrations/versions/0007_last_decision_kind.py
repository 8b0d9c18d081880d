"""dialogs.last_decision_kind: the kind of the bot's last decision in the dialog, so that `/metrics` counts
the dialogs left on a clarifying question from the dialogs table instead of grouping every decision

Revision ID: last_decision_kind
Revises: foreign_key_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "last_decision_kind"
down_revision = "foreign_key_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dialogs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_decision_kind", sa.String(length=16), nullable=True))
    op.create_index("ix_dialogs_last_decision_kind", "dialogs", ["last_decision_kind"])
    op.execute(
        "UPDATE dialogs SET last_decision_kind = (SELECT decisions.kind FROM decisions "
        "WHERE decisions.dialog_id = dialogs.id ORDER BY decisions.id DESC LIMIT 1)"
    )


def downgrade() -> None:
    op.drop_index("ix_dialogs_last_decision_kind", table_name="dialogs")
    with op.batch_alter_table("dialogs", schema=None) as batch_op:
        batch_op.drop_column("last_decision_kind")
