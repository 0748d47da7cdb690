"""The director's view and personal data: when an account was deleted (152-FZ), and an index
on the time of messages for the activity figures and charts.

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
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_created", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_created")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
