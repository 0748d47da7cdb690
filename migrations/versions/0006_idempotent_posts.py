"""Idempotent posts: a message remembers the token its composer sent (`client_token`), made in
the browser for each message (or by the server for a page without JavaScript). A post sent again
with the same token by the same author — its answer lost to a dropped connection or a server that
died after the commit — finds the message already there instead of making a second one. The
unique index over (author, token) is the database's backstop; messages without a token (NULL,
as all the older ones) are never equal to each other, on SQLite and PostgreSQL alike.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 00:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_token", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_message_author_client_token", ["author_id", "client_token"], unique=True
        )


def downgrade():
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_author_client_token")
        batch_op.drop_column("client_token")
