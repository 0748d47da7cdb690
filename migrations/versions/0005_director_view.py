"""The director's view and personal data: when an account was deleted (152-FZ), and covering
indexes for counting a chat's messages in a period and who wrote in one (the figures and charts;
bench/dashboard.py measured them on a million messages). The author's index grows into the
second one. Audit rows written with `current_user` as their target were typed "localproxy";
they are about a user.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE audit_log SET target_type = 'user' WHERE target_type = 'localproxy'")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_author_id")
        batch_op.create_index(
            "ix_message_chat_created", ["chat_id", "created_at", "deleted_at", "author_id"]
        )
        batch_op.create_index(
            "ix_message_author_created", ["author_id", "created_at", "deleted_at"]
        )


def downgrade():
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_author_created")
        batch_op.drop_index("ix_message_chat_created")
        batch_op.create_index("ix_message_author_id", ["author_id"], unique=False)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
