"""A child is linked to an account only when a person decides (issue 13 §2).

- `chat_invite.paused_at`, `chat_invite.misses_from`: a link pauses after 10 child names typed
  through it matched nobody within an hour; «Возобновить» clears `paused_at` and sets
  `misses_from`, so the misses before it don't count again.
- `chat_invite_miss`: one row per such miss (a row each, so concurrent misses lose no count).
- `child_link_notice`: what a child's other parents are told on their home page when another
  account is linked to the child — who, when, who decided — until they dismiss it.

Existing links without approval: from now on such a link is for a meeting in the room and lives
at most 48 hours. At upgrade, every one of them that is not revoked and would live longer is cut
to expire 48 hours after the upgrade (kindergartens get two days to hand out a link with
approval instead); links with approval keep their expiry. The downgrade drops the new table and
columns but cannot give the cut links back their old expiry (it was not kept): they stay cut.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 02:00:00

"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MEETING_LINK_LONGEST = timedelta(hours=48)


def upgrade():
    with op.batch_alter_table("chat_invite", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("misses_from", sa.DateTime(), nullable=True))

    op.create_table(
        "chat_invite_miss",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["chat_invite.id"],
            name=op.f("fk_chat_invite_miss_invite_id_chat_invite"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_invite_miss")),
    )
    with op.batch_alter_table("chat_invite_miss", schema=None) as batch_op:
        batch_op.create_index("ix_chat_invite_miss_invite_at", ["invite_id", "at"], unique=False)

    op.create_table(
        "child_link_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("by_link", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_child_link_notice_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_child_link_notice_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["user.id"],
            name=op.f("fk_child_link_notice_parent_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user.id"],
            name=op.f("fk_child_link_notice_decided_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child_link_notice")),
    )
    with op.batch_alter_table("child_link_notice", schema=None) as batch_op:
        for column in ("user_id", "child_id", "parent_id", "decided_by_id"):
            batch_op.create_index(
                batch_op.f(f"ix_child_link_notice_{column}"), [column], unique=False
            )

    # links without approval: at most 48 hours from now (naive UTC, as every time is stored)
    cap = (datetime.now(UTC) + MEETING_LINK_LONGEST).replace(tzinfo=None)
    invite = sa.table(
        "chat_invite",
        sa.column("needs_approval", sa.Boolean),
        sa.column("revoked_at", sa.DateTime),
        sa.column("expires_at", sa.DateTime),
    )
    op.execute(
        invite.update()
        .where(
            invite.c.needs_approval == sa.false(),
            invite.c.revoked_at.is_(None),
            invite.c.expires_at > cap,
        )
        .values(expires_at=cap)
    )


def downgrade():
    with op.batch_alter_table("child_link_notice", schema=None) as batch_op:
        for column in ("decided_by_id", "parent_id", "child_id", "user_id"):
            batch_op.drop_index(batch_op.f(f"ix_child_link_notice_{column}"))
    op.drop_table("child_link_notice")
    with op.batch_alter_table("chat_invite_miss", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_invite_miss_invite_at")
    op.drop_table("chat_invite_miss")
    with op.batch_alter_table("chat_invite", schema=None) as batch_op:
        batch_op.drop_column("misses_from")
        batch_op.drop_column("paused_at")
